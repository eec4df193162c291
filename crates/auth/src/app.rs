use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::config::Config;
use tokio::net::TcpListener;

use crate::keys::KeyStore;
use crate::state::AppState;
use crate::store::{Db, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("auth database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("bootstrap administrator: {0}")]
    Bootstrap(String),
    #[error("cannot read or make the revocation feed's secret (OPENCHAT_REVOCATIONS_SECRET): {0}")]
    Secret(std::io::Error),
}

/// A built, bound auth server.
pub struct App {
    listener: TcpListener,
    state: AppState,
    http: common::config::HttpConfig,
}

/// Connects storage, loads keys, applies the one-time admin bootstrap and binds the port
/// (port 0 picks a free one; see [`App::port`]).
pub async fn build(config: &Config) -> Result<App, BuildError> {
    let auth = &config.auth;
    let db = Db::connect(&auth.database_url(&config.data_dir)).await?;
    let keys = KeyStore::load(db.clone(), &auth.issuer, &auth.audience, auth.access_token_ttl_secs).await?;
    let secret = config.revocations_secret().map_err(BuildError::Secret)?;
    let state = AppState::new(auth.clone(), db, keys, &secret, &config.metrics_token);
    if let Some(bootstrap) = &auth.bootstrap_admin {
        crate::admin::bootstrap_admin(&state.db, &state.hasher, bootstrap)
            .await
            .map_err(BuildError::Bootstrap)?;
    }
    let addr = SocketAddr::new(auth.host, auth.port);
    let listener = TcpListener::bind(addr).await.map_err(|source| BuildError::Bind { addr, source })?;
    Ok(App { listener, state, http: config.http.clone() })
}

impl App {
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let maintenance = tokio::spawn(maintenance(self.state.clone()));
        tracing::info!(port = self.port(), "auth server listening");
        let router = crate::http::router(self.state.clone());
        let result = common::http::serve(
            self.listener,
            router,
            &self.http,
            &self.state.config.trusted_proxies,
            shutdown,
        )
        .await;
        maintenance.abort();
        self.state.db.close().await;
        result
    }
}

/// How long security events are kept.
const AUDIT_RETENTION_DAYS: i64 = 180;

/// Periodic work: pick up keys rotated by another process, and prune ended sessions.
async fn maintenance(state: AppState) {
    let state = Arc::new(state);
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = 0u64;
    loop {
        tick.tick().await;
        if let Err(error) = state.keys.reload().await {
            tracing::warn!(%error, "cannot reload signing keys");
        }
        if ticks.is_multiple_of(60) {
            // Keep ended sessions for a day, so a replayed token is still recognised as reuse.
            match state.db.prune_sessions(common::clock::now(), 24 * 3600).await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "pruned ended sessions"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "cannot prune sessions"),
            }
            let horizon = common::clock::now_millis() - crate::oauth::REVOCATION_WINDOW_MS;
            if let Err(error) = state.db.prune_revocations(horizon).await {
                tracing::warn!(%error, "cannot prune the revocation feed");
            }
            let audit_horizon = common::clock::now_millis() - AUDIT_RETENTION_DAYS * 24 * 3600 * 1000;
            if let Err(error) = state.db.prune_audit(audit_horizon).await {
                tracing::warn!(%error, "cannot prune the audit log");
            }
        }
        ticks += 1;
    }
}
