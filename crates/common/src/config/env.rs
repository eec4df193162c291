//! The environment variables the services read (one list, [`ENV_VARS`], which `openchat env`
//! prints and `docs/configuration.md` documents), and how their text becomes configuration.

use super::load::ConfigError;

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

/// `NAME` or, failing that, the contents of the file named by `NAME_FILE`. An empty variable
/// counts as unset (`OPENAI_API_KEY=` in a compose file configures nothing).
pub(super) fn env_value(
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

pub(super) fn env_to_toml(var: &EnvVar, raw: &str) -> Result<toml::Value, ConfigError> {
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

pub(super) fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
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
