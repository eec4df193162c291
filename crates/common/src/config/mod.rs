//! Configuration: a TOML file, then environment variables (which win). Any variable may instead
//! be given as `NAME_FILE`, the path of a file holding the value (for secrets).
//!
//! Every variable is listed once, in [`ENV_VARS`], which is also what `docs/configuration.md`
//! documents.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// The whole configuration of an `openchat` process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where SQLite databases and signing keys live; created on first start.
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub auth: AuthConfig,
    pub chat: ChatConfig,
    pub web: WebConfig,
    /// Connection limits of every listening port (auth, chat and web UI alike).
    pub http: HttpConfig,
    /// `redis://…` (or `rediss://…`): cluster mode, in which replicas share events, generation
    /// logs, stops and limits (`docs/deploy.md`); empty means one process on its own.
    pub redis_url: String,
    /// The bearer token a Prometheus scraper presents at each service's `/metrics`; empty means
    /// only administrators' access tokens are taken there.
    pub metrics_token: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            log_format: LogFormat::Pretty,
            auth: AuthConfig::default(),
            chat: ChatConfig::default(),
            web: WebConfig::default(),
            http: HttpConfig::default(),
            redis_url: String::new(),
            metrics_token: String::new(),
        }
    }
}

/// Connection limits, applied to each listening port on its own (`docs/security.md`,
/// "Connections").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Longest wait for a request's complete header, on a new connection and between requests
    /// of a kept-alive one; the connection is then closed.
    pub header_timeout_secs: u64,
    /// Longest silence of a request body, and longest a response or WebSocket write may wait for
    /// a client that does not read; the connection is then closed.
    pub idle_timeout_secs: u64,
    /// Open connections per port (WebSockets included); more are answered 503 and closed.
    pub max_connections: usize,
    /// Open connections per client address and port (an IPv6 client per /64; trusted proxies
    /// are not capped), 0 for no cap; more are answered 429 and closed.
    pub max_connections_per_address: usize,
    /// How long a stop waits for in-flight requests and streams before closing them.
    pub shutdown_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
            max_connections_per_address: 512,
            shutdown_timeout_secs: 10,
        }
    }
}

/// The chat service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    pub host: IpAddr,
    pub port: u16,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/chat.db`.
    pub database_url: String,
    /// Where the auth server publishes its keys; empty means the local auth server's JWKS.
    pub jwks_url: String,
    /// The auth server's revocation feed; empty means next to the JWKS URL.
    pub revocations_url: String,
    /// The auth server's token endpoint, where users' tokens are exchanged for MCP servers'
    /// (`config.identity`); empty means next to the JWKS URL.
    pub token_url: String,
    /// Expected `iss` of tokens; empty means the auth server's issuer.
    pub issuer: String,
    /// Expected `aud` of tokens; empty means the auth server's audience.
    pub audience: String,
    /// Origins allowed by CORS (the web UI's).
    pub cors_origins: Vec<String>,
    /// Model providers; `OPENAI_API_KEY`/`OPENAI_BASE_URL` and `ANTHROPIC_API_KEY` add one each.
    pub providers: Vec<ProviderConfig>,
    /// The model of conversations that name none; empty chooses one (`docs/models.md`).
    pub default_model: String,
    /// How often providers' model lists are read again, in seconds.
    pub models_refresh_secs: u64,
    /// Leave embedding, speech, image, moderation and other non-chat models out of the model
    /// picker (a provider's `hide_non_chat` overrides it).
    pub hide_non_chat_models: bool,
    /// Longest wait for a provider's first token.
    pub first_token_timeout_secs: u64,
    /// Longest silence between two streamed events (keep-alive comments do not count).
    pub idle_timeout_secs: u64,
    /// How long the auth server's revocation feed may go unread before tokens are refused
    /// (503) rather than trusted without knowing whether they were revoked.
    pub revocations_max_stale_secs: u64,
    /// Longest reply in tokens: sent to providers as `max_tokens` (a provider's `max_tokens`
    /// overrides it) and enforced on the stream.
    pub max_reply_tokens: u32,
    /// Longest reply in bytes (a continuation included); the reply ends `incomplete` there.
    pub max_reply_bytes: usize,
    /// Longest time a reply may stream, in seconds, once the model has started on it.
    pub max_reply_secs: u64,
    /// Longest line (and event) of a provider's event stream, in bytes.
    pub max_stream_line_bytes: usize,
    /// Most bytes of message text in one page of `GET …/messages` (at least one message).
    pub max_page_bytes: usize,
    /// Longest message a user may send, in characters.
    pub max_message_chars: usize,
    /// A WebSocket client that does not take a frame within this is dropped (it resumes with
    /// `after_seq`).
    pub ws_send_timeout_secs: u64,
    /// Open WebSockets per user; 0 for no cap.
    pub ws_max_sockets_per_user: usize,
    /// Open WebSockets per client address (authenticated or not); 0 for no cap.
    pub ws_max_sockets_per_ip: usize,
    /// The embedded local model.
    pub local: LocalModelConfig,
    /// Write limits of every user (`docs/security.md`, "Write limits").
    pub limits: WriteLimits,
    /// Write limits of users with a role, by role name (e.g. `[chat.role_limits.admin]`); a
    /// user with several gets the most generous of each. A role's table replaces `limits` for
    /// its users; the fields it leaves out take the built-in defaults.
    pub role_limits: std::collections::BTreeMap<String, WriteLimits>,
    /// Tools from MCP servers (`docs/security.md`, "Tools").
    pub tools: ToolsConfig,
    /// The key that seals secrets stored for MCP servers (at least 32 characters; prefer
    /// `_FILE`); empty means one generated into `<data_dir>/secrets.key`. Replicas of a cluster
    /// need the same value.
    pub secrets_key: String,
}

/// How the model may use tools from MCP servers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// Whether replies may call tools at all; off, servers are kept but never reached.
    pub enabled: bool,
    /// Hosts (`host` or `host:port`) users' MCP servers may reach although they are internal
    /// or plain http (e.g. a tool server next to the chat service).
    pub allowed_hosts: Vec<String>,
    /// Most rounds of tool calls in one reply; past it the model must answer without tools.
    pub max_rounds: u32,
    /// Most tool definitions put in the model's context for one reply.
    pub max_tools: usize,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self { enabled: true, allowed_hosts: Vec::new(), max_rounds: 5, max_tools: 64 }
    }
}

/// How much one user may write to the chat service. 0 means no limit. Rates refill
/// continuously (a bucket the size of the rate); quotas count what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriteLimits {
    /// Messages sent (REST, WebSocket, edits) per minute.
    pub messages_per_minute: u64,
    /// Conversations created per hour.
    pub conversations_per_hour: u64,
    /// Bytes of message text sent per day.
    pub bytes_per_day: u64,
    /// Conversations stored at once.
    pub max_conversations: u64,
    /// Messages stored at once (replies included).
    pub max_messages: u64,
    /// Bytes of message text the user has sent, stored at once.
    pub max_bytes: u64,
}

impl Default for WriteLimits {
    fn default() -> Self {
        Self {
            messages_per_minute: 60,
            conversations_per_hour: 100,
            bytes_per_day: 20 * 1024 * 1024,
            max_conversations: 10_000,
            max_messages: 200_000,
            max_bytes: 200 * 1024 * 1024,
        }
    }
}

/// The embedded local model (`docs/local-model.md`): offered next to the configured providers,
/// and the only model when none is configured.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalModelConfig {
    /// Empty (the default model, `<data_dir>/models/SmolLM2-135M-Instruct.Q4_1.gguf`), the path of
    /// a GGUF file, or `off`.
    pub model: String,
    /// Tokens of context, prompt and reply together; longer conversations lose their oldest
    /// messages.
    pub context_length: u32,
    /// CPU threads; 0 means half the cores (at least one).
    pub threads: u32,
    /// 0 decodes greedily.
    pub temperature: f64,
    pub top_p: f64,
    /// Fixed sampling seed (reproducible replies); unset draws one per reply.
    pub seed: Option<u32>,
    /// Longest reply, in tokens.
    pub max_tokens: u32,
    /// Most replies waiting for the model; more are refused.
    pub max_queue: u32,
}

impl Default for LocalModelConfig {
    fn default() -> Self {
        Self {
            model: String::new(),
            context_length: 2048,
            threads: 0,
            temperature: 0.2,
            top_p: 0.9,
            seed: None,
            max_tokens: 512,
            max_queue: 32,
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8000,
            database_url: String::new(),
            jwks_url: String::new(),
            revocations_url: String::new(),
            token_url: String::new(),
            issuer: String::new(),
            audience: String::new(),
            cors_origins: vec!["http://localhost:3000".into(), "http://127.0.0.1:3000".into()],
            providers: Vec::new(),
            default_model: String::new(),
            models_refresh_secs: 600,
            hide_non_chat_models: true,
            first_token_timeout_secs: 60,
            idle_timeout_secs: 60,
            revocations_max_stale_secs: 10,
            max_reply_tokens: 4096,
            max_reply_bytes: 1024 * 1024,
            max_reply_secs: 600,
            max_stream_line_bytes: 1024 * 1024,
            max_page_bytes: 4 * 1024 * 1024,
            max_message_chars: 32_000,
            ws_send_timeout_secs: 10,
            ws_max_sockets_per_user: 16,
            ws_max_sockets_per_ip: 256,
            local: LocalModelConfig::default(),
            limits: WriteLimits::default(),
            role_limits: Default::default(),
            tools: ToolsConfig::default(),
            secrets_key: String::new(),
        }
    }
}

impl ChatConfig {
    pub fn database_url(&self, data_dir: &Path) -> String {
        database_url_or_default(&self.database_url, data_dir, "chat.db")
    }
}

/// Which protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI's Chat Completions (also Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter).
    Openai,
    Anthropic,
}

/// One model provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// A name for logs and `GET /api/v1/models`; defaults to the kind.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    /// Models to offer, in this order; empty asks the provider (`GET /models`).
    #[serde(default)]
    pub models: Vec<String>,
    /// When not empty, only listed models matching one of these globs (`*`, `?`) are offered.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Listed models matching one of these globs are never offered.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Overrides `chat.hide_non_chat_models` for this provider.
    #[serde(default)]
    pub hide_non_chat: Option<bool>,
    /// Overrides `chat.max_reply_tokens` for this provider; 0 sends no limit (Anthropic's
    /// required one is then 4096) and counts no tokens (bytes and time still bound a reply).
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// The web UI server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    pub host: IpAddr,
    pub port: u16,
    /// A directory holding a built web UI (`web/dist`); empty serves the one built into the binary.
    pub dir: Option<PathBuf>,
    /// The auth server's URL as browsers reach it; empty means the page's host on the auth port.
    pub auth_url: String,
    /// The chat service's URL as browsers reach it; empty means the page's host on the chat port.
    pub chat_url: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 3000,
            dir: None,
            auth_url: String::new(),
            chat_url: String::new(),
        }
    }
}

/// The auth server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub host: IpAddr,
    pub port: u16,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/auth.db`.
    pub database_url: String,
    /// The `iss` of issued tokens and the base of the metadata URLs.
    pub issuer: String,
    /// The `aud` of issued tokens; resource servers (the chat service) expect it.
    pub audience: String,
    pub access_token_ttl_secs: u64,
    /// A refresh token unused for this long expires.
    pub refresh_idle_ttl_secs: u64,
    /// A session (refresh-token family) ends this long after login, however it is used.
    pub refresh_absolute_ttl_secs: u64,
    /// Whether anyone may register; when false only administrators create users.
    pub open_registration: bool,
    /// Origins allowed by CORS (the web UI's).
    pub cors_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed: addresses or networks (`172.28.0.0/24`).
    pub trusted_proxies: crate::http::TrustedProxies,
    /// How many password hashes may be computed at once.
    pub hash_concurrency: usize,
    /// How many more requests may wait for a hashing slot; the others get 503 at once.
    pub hash_queue_max: usize,
    /// How long a request waits for a hashing slot before 503.
    pub hash_queue_wait_secs: u64,
    /// Failed logins allowed from one address before 429 (refilled at this rate per minute).
    pub ip_failures_per_minute: u32,
    /// Registrations allowed from one address (refilled at this rate per hour).
    pub registrations_per_hour: u32,
    /// Failed logins on one account from one client before that client's further attempts
    /// on it must wait (other clients are not affected).
    pub account_failures_before_delay: u32,
    /// Failed logins on one account from all clients per hour before every client gets a
    /// single try on it before its own delays start (a distributed attack).
    pub account_failures_per_hour: u32,
    /// Hard cap on the keys (addresses, accounts) each login-limiter map tracks; past it the
    /// oldest entries are evicted.
    pub limiter_max_keys: usize,
    /// The secret resource servers present (as a bearer token) to read the revocation feed;
    /// empty means one generated into `<data_dir>/revocations.secret`, shared by the services
    /// of one host. Services on different hosts need the same value.
    pub revocations_secret: String,
    /// One-time bootstrap of the first administrator; refused once an admin exists.
    pub bootstrap_admin: Option<BootstrapAdmin>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8001,
            database_url: String::new(),
            issuer: "http://localhost:8001".into(),
            audience: "openchat".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_idle_ttl_secs: 14 * 24 * 3600,
            refresh_absolute_ttl_secs: 30 * 24 * 3600,
            open_registration: true,
            cors_origins: vec!["http://localhost:3000".into(), "http://127.0.0.1:3000".into()],
            trusted_proxies: crate::http::TrustedProxies::default(),
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_queue_max: 64,
            hash_queue_wait_secs: 5,
            ip_failures_per_minute: 30,
            registrations_per_hour: 60,
            account_failures_before_delay: 10,
            account_failures_per_hour: 100,
            limiter_max_keys: 100_000,
            revocations_secret: String::new(),
            bootstrap_admin: None,
        }
    }
}

impl AuthConfig {
    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self, data_dir: &Path) -> String {
        database_url_or_default(&self.database_url, data_dir, "auth.db")
    }
}

/// The first administrator, created once at start-up if no administrator exists yet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAdmin {
    pub username: String,
    pub email: String,
    pub password: String,
}

fn database_url_or_default(url: &str, data_dir: &Path, file: &str) -> String {
    if url.is_empty() { format!("sqlite://{}", data_dir.join(file).display()) } else { url.to_owned() }
}

mod env;
mod load;
#[cfg(test)]
mod tests;

pub use env::{ENV_VARS, EnvKind, EnvVar};
pub use load::ConfigError;
