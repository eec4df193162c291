//! What every handler shares.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use common::config::AuthConfig;

use crate::keys::KeyStore;
use crate::limits::{FailureLimiter, LoginLimits, LoginPolicy, MemoryLoginLimits};
use crate::passwords::Hasher;
use crate::principal::PrincipalCache;
use crate::store::{AuditRecord, Db};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: AuthConfig,
    pub db: Db,
    pub keys: KeyStore,
    pub hasher: Hasher,
    /// Failed logins per client, per (account, client) and per account (`limits.rs`).
    pub login_limits: Box<dyn LoginLimits>,
    /// Registrations per client address.
    pub ip_registrations: FailureLimiter<IpAddr>,
    pub principals: PrincipalCache,
    /// SHA-256 of the secret resource servers present to read the revocation feed.
    pub revocations_secret_hash: [u8; 32],
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
        config: AuthConfig,
        db: Db,
        keys: KeyStore,
        revocations_secret: &str,
        metrics_token: &str,
    ) -> Self {
        use sha2::Digest as _;
        Self(Arc::new(Inner {
            hasher: Hasher::with_queue(
                config.hash_concurrency,
                config.hash_queue_max,
                Duration::from_secs(config.hash_queue_wait_secs),
            ),
            login_limits: Box::new(MemoryLoginLimits::new(LoginPolicy {
                client_failures_per_minute: config.ip_failures_per_minute,
                account_client_failures_before_delay: config.account_failures_before_delay,
                account_failures_per_hour: config.account_failures_per_hour,
                base: Duration::from_secs(5),
                cap: Duration::from_secs(15 * 60),
                max_keys: config.limiter_max_keys,
            })),
            ip_registrations: FailureLimiter::with_cap(
                config.registrations_per_hour,
                Duration::from_secs(3600),
                config.limiter_max_keys,
            ),
            principals: PrincipalCache::new(),
            revocations_secret_hash: sha2::Sha256::digest(revocations_secret.as_bytes()).into(),
            metrics: Arc::new(common::metrics::Metrics::new()),
            metrics_token: metrics_token.to_owned(),
            config,
            db,
            keys,
        }))
    }

    /// Appends a security event to the audit log. A failure to write it is logged, never
    /// shown to the client.
    pub async fn audit(
        &self,
        event: &str,
        username: Option<&str>,
        ip: Option<IpAddr>,
        detail: Option<String>,
    ) {
        let record = AuditRecord {
            id: common::ids::random_id(16),
            at: common::clock::now_millis(),
            event: event.to_owned(),
            username: username.map(str::to_owned),
            ip: ip.map(|ip| ip.to_string()),
            detail,
        };
        tracing::info!(event, username, ip = ?ip, "security event");
        if let Err(error) = self.db.append_audit(&record).await {
            tracing::error!(%error, event, "cannot write an audit event");
        }
    }
}
