use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::config::Config;
use common::jwks::JwksVerifier;
use common::revocations::RevocationList;
use llm::Registry;
use tokio::net::TcpListener;

use crate::cluster::Cluster;
use crate::generation::{Bus, Generations, Hub};
use crate::state::AppState;
use crate::store::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("chat database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot read or make the revocation feed's secret (OPENCHAT_REVOCATIONS_SECRET): {0}")]
    Secret(std::io::Error),
    #[error("cannot read or make the key sealing MCP servers' secrets (OPENCHAT_SECRETS_KEY): {0}")]
    SecretsKey(std::io::Error),
    #[error("OPENCHAT_REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
}

/// How often the auth server's keys are re-read (the JWKS is served with max-age=60).
const KEY_REFRESH: Duration = Duration::from_secs(60);
/// How often the auth server's revocation feed is read: revocations take effect within this.
const REVOCATION_POLL: Duration = Duration::from_secs(2);

pub struct App {
    listener: TcpListener,
    state: AppState,
    http: common::config::HttpConfig,
    /// Not capped per address (`auth.trusted_proxies`).
    proxies: common::http::TrustedProxies,
}

/// How long start-up waits for the providers' first model lists (a provider that answers later
/// joins when it does).
const FIRST_LISTING_WAIT: Duration = Duration::from_secs(5);

/// Connects storage, marks replies left streaming by a dead process as interrupted, waits
/// briefly for the providers' model lists and binds the port. `registry` holds the providers
/// (the binary adds the embedded local model to [`crate::providers::configured`]).
pub async fn build(config: &Config, registry: Registry) -> Result<App, BuildError> {
    let chat = config.chat.clone();
    let db = Db::connect(&chat.database_url(&config.data_dir)).await?;
    // A SQLite database belongs to one process, so whatever was streaming died with the last
    // run; on PostgreSQL other replicas may be streaming, so only expired leases count.
    let cutoff = match db.backend() {
        common::db::Backend::Sqlite => i64::MAX,
        common::db::Backend::Postgres => common::clock::now_millis(),
    };
    let interrupted = db.interrupt_expired(cutoff).await?;
    if !interrupted.is_empty() {
        tracing::warn!(replies = interrupted.len(), "marked replies of a previous run as interrupted");
    }
    let jwks_url = if chat.jwks_url.is_empty() {
        format!("http://127.0.0.1:{}/.well-known/jwks.json", config.auth.port)
    } else {
        chat.jwks_url.clone()
    };
    let issuer = if chat.issuer.is_empty() { config.auth.issuer.clone() } else { chat.issuer.clone() };
    let audience =
        if chat.audience.is_empty() { config.auth.audience.clone() } else { chat.audience.clone() };
    let tokens = Arc::new(JwksVerifier::new(&jwks_url, &issuer, &audience));
    let revocations_url = if chat.revocations_url.is_empty() {
        jwks_url.replace("/.well-known/jwks.json", "/auth/revocations")
    } else {
        chat.revocations_url.clone()
    };
    // The secret the chat service shares with the auth server: it reads the revocation feed
    // with it, and exchanges users' tokens for MCP servers' (tools::identity).
    let secret = config.revocations_secret().map_err(BuildError::Secret)?;
    let revocations = RevocationList::new(&revocations_url, &secret);
    // Users' tokens are sent there: never guessed from a JWKS URL of another shape.
    let token_url = match chat.token_url.as_str() {
        "" => jwks_url.strip_suffix("/.well-known/jwks.json").map(|base| format!("{base}/auth/token")),
        url => Some(url.to_owned()),
    };
    if token_url.is_none() {
        tracing::warn!(
            "chat.token_url is not set and cannot be derived from chat.jwks_url: MCP servers that must know the user cannot be used"
        );
    }
    let identity = crate::tools::identity::Identity::new(token_url, &secret);
    registry.ready(FIRST_LISTING_WAIT).await;
    if registry.is_empty() {
        tracing::warn!(
            "no model provider configured and the local model is off: replies will fail until \
             OPENCHAT_LOCAL_MODEL, OPENAI_API_KEY or ANTHROPIC_API_KEY is set"
        );
    } else {
        tracing::info!(models = registry.models().len(), default = ?registry.default_model(), "model providers ready");
    }
    let hub = Arc::new(Hub::default());
    let (cluster, queued) = match config.redis_url.as_str() {
        "" => (None, None),
        url => {
            let (cluster, queued) = Cluster::new(url, hub.clone())?;
            (Some(cluster), Some(queued))
        }
    };
    let bus = Bus::new(hub, cluster.clone());
    let limits = crate::generation::ReplyLimits::from_config(&chat);
    let secrets_key = config.secrets_key().map_err(BuildError::SecretsKey)?;
    let tools = Arc::new(crate::tools::Tools::new(
        &chat.tools,
        &secrets_key,
        identity,
        db.clone(),
        cluster.clone(),
        &chat.cors_origins,
    ));
    let mut metrics = common::metrics::Metrics::new();
    let chat_metrics = Arc::new(crate::metrics::ChatMetrics::register(metrics.registry_mut()));
    let generations = Generations::new(db.clone(), bus, registry, limits, tools, chat_metrics);
    if let (Some(cluster), Some(queued)) = (&cluster, queued) {
        cluster.start(&generations, queued);
        // Watchers on other replicas of replies this start found dead learn that they ended.
        let announcing = generations.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            for (record, owner) in interrupted {
                announcing.announce_interrupted(&record, &owner).await;
            }
        });
    }
    let addr = SocketAddr::new(chat.host, chat.port);
    let listener = TcpListener::bind(addr).await.map_err(|source| BuildError::Bind { addr, source })?;
    let http = config.http.clone();
    let proxies = config.auth.trusted_proxies.clone();
    let metrics = (Arc::new(metrics), config.metrics_token.clone());
    let state = AppState::new(chat, db, tokens, revocations, generations, proxies.clone(), metrics);
    Ok(App { listener, state, http, proxies })
}

impl App {
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; replies still running are then stored as interrupted.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_interrupted(self.state.clone()));
        let pruner = tokio::spawn(prune_tool_call_audit(self.state.clone()));
        let poller = self.state.revocations.clone().spawn_poller(REVOCATION_POLL);
        let key_refresher = self.state.tokens.clone().spawn_refresher(KEY_REFRESH);
        tracing::info!(port = self.port(), "chat service listening");
        let router = crate::http::router(self.state.clone());
        let generations = self.state.generations.clone();
        let shutdown = async move {
            shutdown.await;
            generations.stop_all().await;
        };
        let result = common::http::serve(self.listener, router, &self.http, &self.proxies, shutdown).await;
        sweeper.abort();
        if let Some(cluster) = self.state.generations.bus().cluster() {
            cluster.shutdown().await;
        }
        poller.abort();
        key_refresher.abort();
        pruner.abort();
        self.state.db.close().await;
        result
    }
}

/// How long the tool-call audit keeps a call.
const TOOL_CALL_AUDIT_KEEP_MS: i64 = 90 * 24 * 3600 * 1000;

/// Removes the audited tool calls older than [`TOOL_CALL_AUDIT_KEEP_MS`], hourly (every replica
/// does; the deletes are idempotent).
async fn prune_tool_call_audit(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = common::clock::now_millis() - TOOL_CALL_AUDIT_KEEP_MS;
        if let Err(e) = state.db.prune_tool_call_audit(before).await {
            tracing::warn!(error = %e, "cannot prune the tool-call audit");
        }
    }
}

/// Replies whose process died (on this or another replica) lose their lease; mark them.
async fn sweep_interrupted(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        match state.db.interrupt_expired(common::clock::now_millis()).await {
            Ok(interrupted) => {
                for (record, owner) in interrupted {
                    tracing::warn!(message = %record.id, "a reply's producer stopped renewing it: interrupted");
                    state.generations.announce_interrupted(&record, &owner).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot sweep interrupted replies"),
        }
    }
}
