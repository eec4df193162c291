//! Loading: a TOML file, then the environment; the secrets kept in the data directory.

use std::path::{Path, PathBuf};

use super::env::{ENV_VARS, env_to_toml, env_value, set_path};
use super::*;

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
