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

impl Config {
    /// The revocation feed's secret: the configured one, or the one in
    /// `<data_dir>/revocations.secret`, made (owner-only) by whichever service starts first.
    pub fn revocations_secret(&self) -> std::io::Result<String> {
        if !self.auth.revocations_secret.is_empty() {
            return Ok(self.auth.revocations_secret.clone());
        }
        self.secret_file("revocations.secret")
    }

    /// The key sealing secrets stored for MCP servers: the configured one, or the one in
    /// `<data_dir>/secrets.key`, made (owner-only) on first use.
    pub fn secrets_key(&self) -> std::io::Result<String> {
        if !self.chat.secrets_key.is_empty() {
            if self.chat.secrets_key.len() < SECRET_MIN_LEN {
                return Err(std::io::Error::other(format!(
                    "chat.secrets_key must be at least {SECRET_MIN_LEN} characters"
                )));
            }
            return Ok(self.chat.secrets_key.clone());
        }
        self.secret_file("secrets.key")
    }

    /// A random secret kept in `<data_dir>/<name>`. A file is only ever seen whole: it is
    /// written under another name and linked into place (which fails if another service linked
    /// its own first). One found empty or short (say, from an older version that crashed
    /// mid-write) is replaced.
    fn secret_file(&self, name: &str) -> std::io::Result<String> {
        let file = self.data_dir.join(name);
        let read = || {
            std::fs::read_to_string(&file)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| s.len() >= SECRET_MIN_LEN)
        };
        if let Some(secret) = read() {
            return Ok(secret);
        }
        crate::db::private_dir(&self.data_dir)?;
        let secret = crate::ids::random_id(43);
        let staged = self.data_dir.join(format!("{name}.{}", crate::ids::random_id(12)));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&staged).and_then(|mut out| {
            std::io::Write::write_all(&mut out, secret.as_bytes())?;
            out.sync_all()
        });
        if file.exists() && read().is_none() {
            let _ = std::fs::remove_file(&file);
        }
        let linked = written.and_then(|()| std::fs::hard_link(&staged, &file));
        let _ = std::fs::remove_file(&staged);
        match linked {
            Ok(()) => Ok(secret),
            // Another service made it a moment ago.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                read().ok_or_else(|| std::io::Error::other(format!("{name} is empty or too short")))
            }
            Err(e) => Err(e),
        }
    }
}

/// Shortest secret kept in a file or accepted as a key.
const SECRET_MIN_LEN: usize = 32;

fn database_url_or_default(url: &str, data_dir: &Path, file: &str) -> String {
    if url.is_empty() { format!("sqlite://{}", data_dir.join(file).display()) } else { url.to_owned() }
}

/// How an environment variable's text becomes a config value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Text,
    Integer,
    /// A decimal number.
    Float,
    Bool,
    /// Comma-separated.
    List,
}

/// One environment variable: its name, the TOML path it sets, its kind and what it means.
pub struct EnvVar {
    pub name: &'static str,
    pub path: &'static [&'static str],
    pub kind: EnvKind,
    pub help: &'static str,
}

macro_rules! env_vars {
    ($( $name:literal => [$($seg:literal),+] $kind:ident, $help:literal; )*) => {
        /// Every environment variable the services read.
        pub const ENV_VARS: &[EnvVar] = &[
            $( EnvVar { name: $name, path: &[$($seg),+], kind: EnvKind::$kind, help: $help }, )*
        ];
    };
}

env_vars! {
    "OPENCHAT_DATA_DIR" => ["data_dir"] Text, "directory for SQLite files and keys (default ./data)";
    "OPENCHAT_METRICS_TOKEN" => ["metrics_token"] Text, "bearer token for scraping /metrics on each service, besides administrators' tokens (prefer _FILE; unset: administrators only)";
    "OPENCHAT_REDIS_URL" => ["redis_url"] Text, "redis://… shared by the replicas of a cluster (events, resumes, stops, limits); unset for one process";
    "OPENCHAT_LOG_FORMAT" => ["log_format"] Text, "`pretty` (default) or `json`";
    "OPENCHAT_AUTH_HOST" => ["auth", "host"] Text, "auth server bind address (default 0.0.0.0)";
    "OPENCHAT_AUTH_PORT" => ["auth", "port"] Integer, "auth server port (default 8001)";
    "OPENCHAT_AUTH_DATABASE_URL" => ["auth", "database_url"] Text, "sqlite://… or postgres://… (default sqlite in the data dir)";
    "OPENCHAT_AUTH_ISSUER" => ["auth", "issuer"] Text, "token issuer URL (default http://localhost:8001)";
    "OPENCHAT_AUTH_AUDIENCE" => ["auth", "audience"] Text, "token audience (default openchat)";
    "OPENCHAT_ACCESS_TOKEN_TTL_SECS" => ["auth", "access_token_ttl_secs"] Integer, "access token lifetime (default 900)";
    "OPENCHAT_REFRESH_IDLE_TTL_SECS" => ["auth", "refresh_idle_ttl_secs"] Integer, "refresh token idle lifetime (default 14 days)";
    "OPENCHAT_REFRESH_ABSOLUTE_TTL_SECS" => ["auth", "refresh_absolute_ttl_secs"] Integer, "session absolute lifetime (default 30 days)";
    "OPENCHAT_OPEN_REGISTRATION" => ["auth", "open_registration"] Bool, "whether anyone may register (default true)";
    "OPENCHAT_CORS_ORIGINS" => ["auth", "cors_origins"] List, "allowed browser origins, comma-separated";
    "OPENCHAT_TRUSTED_PROXIES" => ["auth", "trusted_proxies"] List, "proxy addresses or networks (e.g. 172.28.0.0/24) whose X-Forwarded-For is believed";
    "OPENCHAT_HASH_CONCURRENCY" => ["auth", "hash_concurrency"] Integer, "password hashes computed at once (default: CPU count)";
    "OPENCHAT_HASH_QUEUE_MAX" => ["auth", "hash_queue_max"] Integer, "requests that may wait for a password-hashing slot before 503 (default 64)";
    "OPENCHAT_HASH_QUEUE_WAIT_SECS" => ["auth", "hash_queue_wait_secs"] Integer, "longest wait for a password-hashing slot before 503 (default 5)";
    "OPENCHAT_IP_FAILURES_PER_MINUTE" => ["auth", "ip_failures_per_minute"] Integer, "failed logins per address per minute before 429 (default 30)";
    "OPENCHAT_REGISTRATIONS_PER_HOUR" => ["auth", "registrations_per_hour"] Integer, "registrations per address per hour (default 60)";
    "OPENCHAT_ACCOUNT_FAILURES_BEFORE_DELAY" => ["auth", "account_failures_before_delay"] Integer, "failed logins on one account from one client before that client's delays start (default 10)";
    "OPENCHAT_ACCOUNT_FAILURES_PER_HOUR" => ["auth", "account_failures_per_hour"] Integer, "failed logins on one account from all clients per hour before each client gets one try (default 100)";
    "OPENCHAT_LIMITER_MAX_KEYS" => ["auth", "limiter_max_keys"] Integer, "hard cap on the keys each login-limiter map tracks (default 100000)";
    "OPENCHAT_REVOCATIONS_SECRET" => ["auth", "revocations_secret"] Text, "secret the chat service presents to the auth server (revocation feed, MCP token exchange; default: generated in the data dir)";
    "OPENCHAT_BOOTSTRAP_ADMIN_USERNAME" => ["auth", "bootstrap_admin", "username"] Text, "one-time first administrator: username";
    "OPENCHAT_BOOTSTRAP_ADMIN_EMAIL" => ["auth", "bootstrap_admin", "email"] Text, "one-time first administrator: email";
    "OPENCHAT_BOOTSTRAP_ADMIN_PASSWORD" => ["auth", "bootstrap_admin", "password"] Text, "one-time first administrator: password (prefer _FILE)";
    "OPENCHAT_CHAT_HOST" => ["chat", "host"] Text, "chat service bind address (default 0.0.0.0)";
    "OPENCHAT_CHAT_PORT" => ["chat", "port"] Integer, "chat service port (default 8000)";
    "OPENCHAT_CHAT_DATABASE_URL" => ["chat", "database_url"] Text, "sqlite://… or postgres://… (default sqlite in the data dir)";
    "OPENCHAT_JWKS_URL" => ["chat", "jwks_url"] Text, "the auth server's JWKS (default the local auth server)";
    "OPENCHAT_REVOCATIONS_URL" => ["chat", "revocations_url"] Text, "the auth server's revocation feed (default next to the JWKS URL)";
    "OPENCHAT_TOKEN_URL" => ["chat", "token_url"] Text, "the auth server's token endpoint, for MCP servers that must know the user (default next to the JWKS URL)";
    "OPENCHAT_CHAT_CORS_ORIGINS" => ["chat", "cors_origins"] List, "allowed browser origins of the chat service, comma-separated";
    "OPENCHAT_DEFAULT_MODEL" => ["chat", "default_model"] Text, "model of conversations that name none (default: chosen from the providers' lists, see docs/models.md)";
    "OPENCHAT_MODELS_REFRESH_SECS" => ["chat", "models_refresh_secs"] Integer, "how often providers' model lists are read again (default 600)";
    "OPENCHAT_HIDE_NON_CHAT_MODELS" => ["chat", "hide_non_chat_models"] Bool, "hide embedding, speech, image and other non-chat models from the picker (default true)";
    "OPENCHAT_FIRST_TOKEN_TIMEOUT_SECS" => ["chat", "first_token_timeout_secs"] Integer, "longest wait for a provider's first token (default 60)";
    "OPENCHAT_REVOCATIONS_MAX_STALE_SECS" => ["chat", "revocations_max_stale_secs"] Integer, "how long the revocation feed may go unread before chat refuses tokens with 503 (default 10)";
    "OPENCHAT_IDLE_TIMEOUT_SECS" => ["chat", "idle_timeout_secs"] Integer, "longest silence between streamed events, keep-alive comments not counted (default 60)";
    "OPENCHAT_MAX_REPLY_TOKENS" => ["chat", "max_reply_tokens"] Integer, "longest reply in tokens, sent to providers as max_tokens and enforced (default 4096)";
    "OPENCHAT_MAX_REPLY_BYTES" => ["chat", "max_reply_bytes"] Integer, "longest reply in bytes (default 1048576)";
    "OPENCHAT_MAX_REPLY_SECS" => ["chat", "max_reply_secs"] Integer, "longest time a reply may stream, in seconds (default 600)";
    "OPENCHAT_MAX_PAGE_BYTES" => ["chat", "max_page_bytes"] Integer, "most bytes of message text in one page of messages (default 4194304)";
    "OPENCHAT_MAX_STREAM_LINE_BYTES" => ["chat", "max_stream_line_bytes"] Integer, "longest line or event of a provider's stream, in bytes (default 1048576)";
    "OPENCHAT_TOOLS_ENABLED" => ["chat", "tools", "enabled"] Bool, "whether replies may call tools from MCP servers; off, servers are kept but never reached (default true)";
    "OPENCHAT_TOOLS_ALLOWED_HOSTS" => ["chat", "tools", "allowed_hosts"] List, "hosts (host or host:port) MCP servers may be on although internal or plain http, comma-separated";
    "OPENCHAT_MAX_TOOL_ROUNDS" => ["chat", "tools", "max_rounds"] Integer, "most rounds of tool calls in one reply (default 5)";
    "OPENCHAT_SECRETS_KEY" => ["chat", "secrets_key"] Text, "key sealing the secrets stored for MCP servers, 32+ characters (prefer _FILE; default generated into <data dir>/secrets.key)";
    "OPENCHAT_WEB_HOST" => ["web", "host"] Text, "web UI bind address (default 0.0.0.0)";
    "OPENCHAT_WEB_PORT" => ["web", "port"] Integer, "web UI port (default 3000)";
    "OPENCHAT_WEB_DIR" => ["web", "dir"] Text, "serve the web UI from this built directory instead of the embedded one";
    "OPENCHAT_WEB_AUTH_URL" => ["web", "auth_url"] Text, "auth server URL for browsers (default: the page's host, auth port)";
    "OPENCHAT_WEB_CHAT_URL" => ["web", "chat_url"] Text, "chat service URL for browsers (default: the page's host, chat port)";
    "OPENCHAT_CHAT_MESSAGES_PER_MINUTE" => ["chat", "limits", "messages_per_minute"] Integer, "messages one user may send per minute, 0 for no limit (default 60)";
    "OPENCHAT_CHAT_CONVERSATIONS_PER_HOUR" => ["chat", "limits", "conversations_per_hour"] Integer, "conversations one user may create per hour, 0 for no limit (default 100)";
    "OPENCHAT_CHAT_BYTES_PER_DAY" => ["chat", "limits", "bytes_per_day"] Integer, "bytes of message text one user may send per day, 0 for no limit (default 20971520)";
    "OPENCHAT_CHAT_MAX_CONVERSATIONS" => ["chat", "limits", "max_conversations"] Integer, "conversations one user may store, 0 for no limit (default 10000)";
    "OPENCHAT_CHAT_MAX_MESSAGES" => ["chat", "limits", "max_messages"] Integer, "messages one user may store, replies included, 0 for no limit (default 200000)";
    "OPENCHAT_CHAT_MAX_BYTES" => ["chat", "limits", "max_bytes"] Integer, "bytes of sent message text one user may store, 0 for no limit (default 209715200)";
    "OPENCHAT_WS_SEND_TIMEOUT_SECS" => ["chat", "ws_send_timeout_secs"] Integer, "a WebSocket client that does not take a frame within this is dropped (default 10)";
    "OPENCHAT_WS_MAX_SOCKETS_PER_USER" => ["chat", "ws_max_sockets_per_user"] Integer, "open WebSockets per user, 0 for no cap (default 16)";
    "OPENCHAT_WS_MAX_SOCKETS_PER_IP" => ["chat", "ws_max_sockets_per_ip"] Integer, "open WebSockets per client address, 0 for no cap (default 256)";
    "OPENCHAT_HTTP_HEADER_TIMEOUT_SECS" => ["http", "header_timeout_secs"] Integer, "longest wait for a request's complete header, also between kept-alive requests (default 10)";
    "OPENCHAT_HTTP_IDLE_TIMEOUT_SECS" => ["http", "idle_timeout_secs"] Integer, "longest silence of a request body or stall of a write to a client that does not read (default 60)";
    "OPENCHAT_HTTP_MAX_CONNECTIONS" => ["http", "max_connections"] Integer, "open connections per port, WebSockets included; more get 503 (default 1024)";
    "OPENCHAT_HTTP_MAX_CONNECTIONS_PER_ADDRESS" => ["http", "max_connections_per_address"] Integer, "open connections per client address (IPv6: per /64) and port, trusted proxies excepted; more get 429 (default 512, 0 for no cap)";
    "OPENCHAT_HTTP_SHUTDOWN_TIMEOUT_SECS" => ["http", "shutdown_timeout_secs"] Integer, "how long a stop waits for in-flight requests and streams (default 10)";
    "OPENCHAT_LOCAL_MODEL" => ["chat", "local", "model"] Text, "local model: a GGUF file, `off`, or unset for the default (SmolLM2-135M in <data dir>/models)";
    "OPENCHAT_LOCAL_CONTEXT" => ["chat", "local", "context_length"] Integer, "local model context window in tokens (default 2048)";
    "OPENCHAT_LOCAL_THREADS" => ["chat", "local", "threads"] Integer, "local model CPU threads (default 0: half the cores, at least one)";
    "OPENCHAT_LOCAL_TEMPERATURE" => ["chat", "local", "temperature"] Float, "local model sampling temperature, 0 for greedy (default 0.2)";
    "OPENCHAT_LOCAL_TOP_P" => ["chat", "local", "top_p"] Float, "local model nucleus sampling (default 0.9)";
    "OPENCHAT_LOCAL_SEED" => ["chat", "local", "seed"] Integer, "local model sampling seed (default: a new one per reply)";
    "OPENCHAT_LOCAL_MAX_TOKENS" => ["chat", "local", "max_tokens"] Integer, "longest local model reply in tokens (default 512)";
    "OPENCHAT_LOCAL_MAX_QUEUE" => ["chat", "local", "max_queue"] Integer, "replies that may wait for the local model (default 32)";
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot read {name}_FILE ({path}): {source}")]
    SecretFile { name: &'static str, path: String, source: std::io::Error },
    #[error("{name}: {message}")]
    Env { name: &'static str, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the file (if any) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, |name| std::env::var(name).ok())
    }

    /// Loads the file (if any), then the variables that `env` returns.
    pub fn load_from(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?
            }
            None => toml::Table::new(),
        };
        for var in ENV_VARS {
            if let Some(raw) = env_value(var.name, &env)? {
                set_path(&mut table, var.path, env_to_toml(var, &raw)?);
            }
        }
        let mut config: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            ConfigError::Parse { path: file.map(Path::to_owned).unwrap_or_default(), message: e.to_string() }
        })?;
        config.add_seed_providers(&env)?;
        config.validate()?;
        Ok(config)
    }

    /// The seed's variables: `OPENAI_API_KEY` (with `OPENAI_BASE_URL`, which OpenAI's own SDKs
    /// read) configures an OpenAI-compatible provider; `ANTHROPIC_API_KEY` configures Anthropic.
    fn add_seed_providers(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let list = |name: &'static str| -> Result<Vec<String>, ConfigError> {
            Ok(env_value(name, env)?
                .map(|raw| {
                    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
                })
                .unwrap_or_default())
        };
        let openai_key = env_value("OPENAI_API_KEY", env)?;
        let openai_url = env_value("OPENAI_BASE_URL", env)?;
        if openai_key.is_some() || openai_url.is_some() {
            self.chat.providers.push(ProviderConfig {
                kind: ProviderKind::Openai,
                name: Some("openai".into()),
                base_url: openai_url,
                api_key: openai_key,
                models: list("OPENCHAT_OPENAI_MODELS")?,
                allow: Vec::new(),
                deny: Vec::new(),
                hide_non_chat: None,
                max_tokens: None,
            });
        }
        if let Some(key) = env_value("ANTHROPIC_API_KEY", env)? {
            self.chat.providers.push(ProviderConfig {
                kind: ProviderKind::Anthropic,
                name: Some("anthropic".into()),
                base_url: env_value("ANTHROPIC_BASE_URL", env)?,
                api_key: Some(key),
                models: list("OPENCHAT_ANTHROPIC_MODELS")?,
                allow: Vec::new(),
                deny: Vec::new(),
                hide_non_chat: None,
                max_tokens: None,
            });
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        if auth.access_token_ttl_secs == 0 || auth.access_token_ttl_secs > 3600 {
            return Err(ConfigError::Invalid("auth.access_token_ttl_secs must be between 1 and 3600".into()));
        }
        if auth.limiter_max_keys < 100 {
            return Err(ConfigError::Invalid("auth.limiter_max_keys must be at least 100".into()));
        }
        if auth.hash_concurrency == 0 {
            return Err(ConfigError::Invalid("auth.hash_concurrency must be at least 1".into()));
        }
        if auth.refresh_idle_ttl_secs == 0 || auth.refresh_absolute_ttl_secs == 0 {
            return Err(ConfigError::Invalid("refresh token lifetimes must be positive".into()));
        }
        for (name, url) in [("web.auth_url", &self.web.auth_url), ("web.chat_url", &self.web.chat_url)] {
            let plain = url.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | ';' | ','));
            if !url.is_empty() && !(plain && (url.starts_with("http://") || url.starts_with("https://"))) {
                return Err(ConfigError::Invalid(format!("{name} must be an http:// or https:// URL")));
            }
        }
        let chat = &self.chat;
        if chat.max_reply_tokens == 0 || chat.max_reply_bytes < 1024 || chat.max_reply_secs == 0 {
            return Err(ConfigError::Invalid(
                "chat.max_reply_tokens and chat.max_reply_secs must be at least 1, chat.max_reply_bytes at least 1024"
                    .into(),
            ));
        }
        if chat.max_page_bytes < 1024 {
            return Err(ConfigError::Invalid("chat.max_page_bytes must be at least 1024".into()));
        }
        if chat.max_stream_line_bytes < 4096 {
            return Err(ConfigError::Invalid("chat.max_stream_line_bytes must be at least 4096".into()));
        }
        let local = &self.chat.local;
        if !(64..=1_048_576).contains(&local.context_length) {
            return Err(ConfigError::Invalid(
                "chat.local.context_length must be between 64 and 1048576".into(),
            ));
        }
        if local.max_tokens == 0 || local.max_tokens >= local.context_length {
            return Err(ConfigError::Invalid(
                "chat.local.max_tokens must be at least 1 and less than chat.local.context_length".into(),
            ));
        }
        if !(0.0..=5.0).contains(&local.temperature) {
            return Err(ConfigError::Invalid("chat.local.temperature must be between 0 and 5".into()));
        }
        if !(local.top_p > 0.0 && local.top_p <= 1.0) {
            return Err(ConfigError::Invalid("chat.local.top_p must be above 0 and at most 1".into()));
        }
        if self.chat.models_refresh_secs == 0 {
            return Err(ConfigError::Invalid("chat.models_refresh_secs must be at least 1".into()));
        }
        if local.max_queue == 0 {
            return Err(ConfigError::Invalid("chat.local.max_queue must be at least 1".into()));
        }
        if self.chat.ws_send_timeout_secs == 0 {
            return Err(ConfigError::Invalid("chat.ws_send_timeout_secs must be at least 1".into()));
        }
        let http = &self.http;
        if http.header_timeout_secs == 0 || http.idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "http.header_timeout_secs and http.idle_timeout_secs must be at least 1".into(),
            ));
        }
        if http.max_connections == 0 {
            return Err(ConfigError::Invalid("http.max_connections must be at least 1".into()));
        }
        // Each service keeps its own migration history; in one database they would collide
        // (the second to start fails with "migration 1 was previously applied but has been
        // modified").
        if self.auth.database_url(&self.data_dir) == self.chat.database_url(&self.data_dir) {
            return Err(ConfigError::Invalid(
                "auth.database_url and chat.database_url name the same database: give each service its own \
                 (e.g. two PostgreSQL databases on one server)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// `NAME` or, failing that, the contents of the file named by `NAME_FILE`. An empty variable
/// counts as unset (`OPENAI_API_KEY=` in a compose file configures nothing).
fn env_value(
    name: &'static str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let env = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(value) = env(name) {
        return Ok(Some(value));
    }
    match env(&format!("{name}_FILE")) {
        Some(path) => std::fs::read_to_string(&path)
            .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_owned()))
            .map_err(|source| ConfigError::SecretFile { name, path, source }),
        None => Ok(None),
    }
}

fn env_to_toml(var: &EnvVar, raw: &str) -> Result<toml::Value, ConfigError> {
    let invalid = |message: &str| ConfigError::Env { name: var.name, message: message.into() };
    Ok(match var.kind {
        EnvKind::Text => toml::Value::String(raw.to_owned()),
        EnvKind::Integer => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| invalid("expected a whole number"))?)
        }
        EnvKind::Float => toml::Value::Float(raw.trim().parse().map_err(|_| invalid("expected a number"))?),
        EnvKind::Bool => toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => return Err(invalid("expected true or false")),
        }),
        EnvKind::List => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
    })
}

fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    let (last, parents) = path.split_last().expect("config paths are never empty");
    let mut current = table;
    for segment in parents {
        let entry =
            current.entry(segment.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_without_file_or_env() {
        let config = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(config.auth.port, 8001);
        assert_eq!(config.auth.access_token_ttl_secs, 900);
        assert_eq!(config.auth.database_url(Path::new("/d")), "sqlite:///d/auth.db");
    }

    #[test]
    fn the_two_services_cannot_share_a_database() {
        let url = "postgres://postgres@127.0.0.1:5432/openchat";
        let error = Config::load_from(
            None,
            env(&[("OPENCHAT_AUTH_DATABASE_URL", url), ("OPENCHAT_CHAT_DATABASE_URL", url)]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("name the same database"), "{error}");
        let other = "postgres://postgres@127.0.0.1:5432/openchat_chat";
        Config::load_from(
            None,
            env(&[("OPENCHAT_AUTH_DATABASE_URL", url), ("OPENCHAT_CHAT_DATABASE_URL", other)]),
        )
        .unwrap();
    }

    #[test]
    fn environment_overrides_file() {
        let dir = std::env::temp_dir().join(format!("oc-config-{}", crate::ids::random_id(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("openchat.toml");
        std::fs::write(&file, "data_dir = \"/x\"\n[auth]\nport = 9000\nopen_registration = false\n").unwrap();
        let config = Config::load_from(
            Some(&file),
            env(&[("OPENCHAT_AUTH_PORT", "9100"), ("OPENCHAT_CORS_ORIGINS", "https://a, https://b")]),
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/x"));
        assert_eq!(config.auth.port, 9100);
        assert!(!config.auth.open_registration);
        assert_eq!(config.auth.cors_origins, vec!["https://a", "https://b"]);
    }

    #[test]
    fn secrets_come_from_file_variables() {
        let dir = std::env::temp_dir().join(format!("oc-secret-{}", crate::ids::random_id(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("pw");
        std::fs::write(&secret, "s3cret-passphrase\n").unwrap();
        let config = Config::load_from(
            None,
            env(&[
                ("OPENCHAT_BOOTSTRAP_ADMIN_USERNAME", "root"),
                ("OPENCHAT_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
                ("OPENCHAT_BOOTSTRAP_ADMIN_PASSWORD_FILE", secret.to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(config.auth.bootstrap_admin.unwrap().password, "s3cret-passphrase");
    }

    #[test]
    fn local_model_settings_come_from_the_environment() {
        let config = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(config.chat.local, LocalModelConfig::default());
        let config = Config::load_from(
            None,
            env(&[
                ("OPENCHAT_LOCAL_MODEL", "/models/x.gguf"),
                ("OPENCHAT_LOCAL_CONTEXT", "4096"),
                ("OPENCHAT_LOCAL_THREADS", "2"),
                ("OPENCHAT_LOCAL_TEMPERATURE", "0"),
                ("OPENCHAT_LOCAL_TOP_P", "0.5"),
                ("OPENCHAT_LOCAL_SEED", "42"),
            ]),
        )
        .unwrap();
        let local = config.chat.local;
        assert_eq!(local.model, "/models/x.gguf");
        assert_eq!((local.context_length, local.threads, local.seed), (4096, 2, Some(42)));
        assert_eq!((local.temperature, local.top_p), (0.0, 0.5));
        let err = Config::load_from(None, env(&[("OPENCHAT_LOCAL_TEMPERATURE", "warm")])).unwrap_err();
        assert!(err.to_string().contains("OPENCHAT_LOCAL_TEMPERATURE"), "{err}");
        let err = Config::load_from(None, env(&[("OPENCHAT_LOCAL_TOP_P", "1.5")])).unwrap_err();
        assert!(err.to_string().contains("top_p"), "{err}");
        let err = Config::load_from(None, env(&[("OPENCHAT_LOCAL_MAX_TOKENS", "2048")])).unwrap_err();
        assert!(err.to_string().contains("max_tokens"), "{err}");
    }

    #[test]
    fn reply_and_page_bounds_are_read_and_checked() {
        let config = Config::load_from(None, env(&[])).unwrap();
        let chat = &config.chat;
        assert_eq!((chat.max_reply_tokens, chat.max_reply_bytes, chat.max_reply_secs), (4096, 1 << 20, 600));
        assert_eq!((chat.max_stream_line_bytes, chat.max_page_bytes), (1 << 20, 4 << 20));
        let config = Config::load_from(
            None,
            env(&[
                ("OPENCHAT_MAX_REPLY_TOKENS", "100"),
                ("OPENCHAT_MAX_REPLY_BYTES", "2048"),
                ("OPENCHAT_MAX_REPLY_SECS", "5"),
                ("OPENCHAT_MAX_STREAM_LINE_BYTES", "8192"),
                ("OPENCHAT_MAX_PAGE_BYTES", "4096"),
            ]),
        )
        .unwrap();
        let chat = &config.chat;
        assert_eq!((chat.max_reply_tokens, chat.max_reply_bytes, chat.max_reply_secs), (100, 2048, 5));
        assert_eq!((chat.max_stream_line_bytes, chat.max_page_bytes), (8192, 4096));
        for (name, value) in [
            ("OPENCHAT_MAX_REPLY_TOKENS", "0"),
            ("OPENCHAT_MAX_REPLY_BYTES", "10"),
            ("OPENCHAT_MAX_REPLY_SECS", "0"),
            ("OPENCHAT_MAX_STREAM_LINE_BYTES", "100"),
            ("OPENCHAT_MAX_PAGE_BYTES", "100"),
        ] {
            let err = Config::load_from(None, env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains("chat.max_"), "{name}: {err}");
        }
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = Config::load_from(
            None,
            env(&[("OPENAI_API_KEY", ""), ("OPENAI_BASE_URL", ""), ("OPENCHAT_AUTH_PORT", "")]),
        )
        .unwrap();
        assert!(config.chat.providers.is_empty());
        assert_eq!(config.auth.port, 8001);
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load_from(None, env(&[("OPENCHAT_AUTH_PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("OPENCHAT_AUTH_PORT"), "{err}");
        let err = Config::load_from(None, env(&[("OPENCHAT_AUTH_PORT", "99999")])).unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
    }
}
