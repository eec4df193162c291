use std::sync::Arc;

use common::config::ChatConfig;
use common::jwks::JwksVerifier;
use common::revocations::RevocationList;

use crate::generation::Generations;
use crate::limits::{MemoryStore, WriteLimiter};
use crate::store::Db;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: ChatConfig,
    pub db: Db,
    pub tokens: Arc<JwksVerifier>,
    pub revocations: Arc<RevocationList>,
    pub generations: Arc<Generations>,
    /// Per-user write rates and quotas.
    pub limits: WriteLimiter,
    /// Open WebSockets per user and per address.
    pub sockets: Arc<crate::http::ws::SocketCounts>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`auth.trusted_proxies`).
    pub proxies: common::http::TrustedProxies,
    /// `/metrics`, and the token a scraper presents there (`metrics_token`).
    pub metrics: Arc<common::metrics::Metrics>,
    pub metrics_token: String,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        config: ChatConfig,
        db: Db,
        tokens: Arc<JwksVerifier>,
        revocations: Arc<RevocationList>,
        generations: Arc<Generations>,
        proxies: common::http::TrustedProxies,
        metrics: (Arc<common::metrics::Metrics>, String),
    ) -> Self {
        let store: Box<dyn crate::limits::LimitStore> = match generations.bus().cluster() {
            Some(cluster) => Box::new(crate::cluster::limits::ClusterLimits::new(cluster.clone())),
            None => Box::new(MemoryStore::default()),
        };
        let limits = WriteLimiter::new(&config, store);
        let sockets = Arc::default();
        let (metrics, metrics_token) = metrics;
        Self(Arc::new(Inner {
            config,
            db,
            tokens,
            revocations,
            generations,
            limits,
            sockets,
            proxies,
            metrics,
            metrics_token,
        }))
    }
}
