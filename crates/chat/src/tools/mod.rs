//! Tools for the model: MCP servers reached over HTTP, under an egress policy, their secrets
//! sealed at rest.

pub mod egress;
pub mod identity;
pub mod mcp;
pub mod oauth;
pub mod secrets;

use std::time::Duration;

use api_types::mcp::McpServerConfig;
use common::config::ToolsConfig;

use crate::store::McpServerRecord;
use identity::Identity;
use mcp::{Mcp, McpError, Target};
use oauth::SignIns;
use secrets::Sealer;

/// Default and longest wait for one tool call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_CALL_TIMEOUT_SECS: u64 = 3600;

/// Everything the chat service needs to offer tools: the MCP sessions, the secrets' seal, and
/// the administrator's settings.
pub struct Tools {
    pub mcp: Mcp,
    sealer: std::sync::Arc<Sealer>,
    identity: Identity,
    /// Users' own sign-ins to servers that require one.
    pub sign_ins: SignIns,
    config: ToolsConfig,
    /// Users with a connection test running (one each: a test may wait on a slow server).
    testing: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// A user's running connection test; ends when dropped.
pub struct Testing<'a> {
    tools: &'a Tools,
    user: String,
}

impl Drop for Testing<'_> {
    fn drop(&mut self) {
        self.tools.testing.lock().expect("lock poisoned").remove(&self.user);
    }
}

impl Tools {
    /// `web_origins`: the web UI's addresses, where sign-ins come back to.
    pub fn new(
        config: &ToolsConfig,
        secrets_key: &str,
        identity: Identity,
        db: crate::store::Db,
        cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
        web_origins: &[String],
    ) -> Self {
        let egress = egress::Egress::new(config.allowed_hosts.iter().cloned());
        let sealer = std::sync::Arc::new(Sealer::new(secrets_key));
        Self {
            sign_ins: SignIns::new(db, sealer.clone(), egress.clone(), cluster, web_origins),
            mcp: Mcp::new(egress),
            sealer,
            identity,
            config: config.clone(),
            testing: Default::default(),
        }
    }

    /// Starts `user`'s connection test, unless one of theirs is running.
    pub fn begin_test(&self, user: &str) -> Option<Testing<'_>> {
        let fresh = self.testing.lock().expect("lock poisoned").insert(user.to_owned());
        fresh.then(|| Testing { tools: self, user: user.to_owned() })
    }

    /// Whether tools may be used at all (`chat.tools.enabled`).
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    pub fn max_rounds(&self) -> usize {
        self.config.max_rounds as usize
    }

    pub fn max_tools(&self) -> usize {
        self.config.max_tools
    }

    pub fn seal(&self, server_id: &str, secret: &str) -> String {
        self.sealer.seal(server_id, secret)
    }

    /// How to reach a stored server for `caller`: its secret opened, for a server that needs
    /// to know the user a token minted for it, and for one that requires the user's own
    /// sign-in their access token.
    pub async fn target(&self, server: &McpServerRecord, caller: Caller<'_>) -> Result<Target, McpError> {
        let config = config_of(server);
        let mut headers = Vec::new();
        if let Some(sealed) = &server.secret {
            let secret =
                self.sealer.open(&server.id, sealed).map_err(|e| McpError::Connect(e.to_string()))?;
            let name = config.secret_header.clone().unwrap_or_else(|| "Authorization".to_owned());
            headers.push((name, secret));
        }
        if config.identity == Some(true) {
            if identity_clash(&config, server.secret.is_some()) {
                return Err(McpError::Connect(IDENTITY_CLASH.into()));
            }
            let token = self.identity.token(caller.id, caller.token, &server.server_url).await?;
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        if config.oauth == Some(true) {
            if authorization_clash(&config, server.secret.is_some()) {
                return Err(McpError::Connect(AUTHORIZATION_CLASH.into()));
            }
            let token = self
                .sign_ins
                .access_token(server, caller.id)
                .await
                .map_err(|e| McpError::Connect(e.to_string()))?;
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        Ok(Target {
            server_id: server.id.clone(),
            url: server.server_url.clone(),
            headers,
            version: server.updated_at,
        })
    }
}

/// Who a server is reached for: the user, and their access token for a server that needs to
/// know them (exchanged for one of its own, never sent; so no `Debug`).
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub id: &'a str,
    pub token: Option<&'a str>,
}

/// Why a server cannot have both a secret in `Authorization` and the user's identity.
pub const IDENTITY_CLASH: &str = "the server's secret and the user's identity would both go in the Authorization header: name another header for the secret (config.secret_header)";

/// Whether a server's secret (if it has one) and the user's identity would share a header.
pub fn identity_clash(config: &McpServerConfig, has_secret: bool) -> bool {
    has_secret && config.identity == Some(true) && secret_in_authorization(config)
}

/// Why a server cannot ask for both the user's own sign-in and something else in
/// `Authorization`.
pub const AUTHORIZATION_CLASH: &str = "a server that requires each user's sign-in (config.oauth) gets their token in the Authorization header: it cannot also be told who the user is (config.identity), and a secret must go in another header (config.secret_header)";

/// Whether a server asks for the user's own sign-in and also puts something else in
/// `Authorization`.
pub fn authorization_clash(config: &McpServerConfig, has_secret: bool) -> bool {
    config.oauth == Some(true)
        && (config.identity == Some(true) || (has_secret && secret_in_authorization(config)))
}

fn secret_in_authorization(config: &McpServerConfig) -> bool {
    config.secret_header.as_deref().is_none_or(|h| h.eq_ignore_ascii_case("authorization"))
}

/// The longest waits for the calls of one server: its own, and some tools' own.
#[derive(Debug, Clone)]
pub struct Timeouts {
    server: Duration,
    tools: std::collections::BTreeMap<String, Duration>,
}

impl Timeouts {
    pub fn of(server: &McpServerRecord) -> Self {
        let config = config_of(server);
        let bounded = |secs: u64| Duration::from_secs(secs.clamp(1, MAX_CALL_TIMEOUT_SECS));
        Self {
            server: config.timeout_seconds.map_or(DEFAULT_CALL_TIMEOUT, bounded),
            tools: config
                .tool_timeouts
                .unwrap_or_default()
                .into_iter()
                .map(|(t, s)| (t, bounded(s)))
                .collect(),
        }
    }

    /// The longest wait for a call of `tool`.
    pub fn of_tool(&self, tool: &str) -> Duration {
        self.tools.get(tool).copied().unwrap_or(self.server)
    }
}

/// A stored server's settings (defaults if they do not parse).
pub fn config_of(server: &McpServerRecord) -> McpServerConfig {
    serde_json::from_str(&server.config).unwrap_or_default()
}
