//! An example Model Context Protocol server over Streamable HTTP, built with the official SDK
//! (`rmcp`): `get_current_time` answers the current time in an IANA timezone — the tool the
//! original project's docs used to show MCP — and `wait` waits a few seconds, reporting its
//! progress (`notifications/progress`), and `whoami` tells who the request is from.
//!
//! Callers can be checked two ways, as a resource server should:
//! - given an auth server (`--issuer`, [`serve_with`]), every request must carry a token that
//!   server signed for this server alone (audience: its own URL, scope `mcp`) — [`identity`];
//! - with `--oauth` ([`serve_oauth`]), this server is its own minimal OAuth 2.1 authorization
//!   server (metadata discovery, dynamic client registration, authorization code with PKCE,
//!   refresh-token rotation with reuse detection), and each user signs in — [`oauth`].
//!
//! Open ChatBot's tests use it as a real MCP server; `cargo run -p mcp-time` serves it on
//! 127.0.0.1:8765.

pub mod identity;
pub mod oauth;

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ProgressNotificationParam, RequestMetaObject,
    ServerCapabilities, ServerConfig,
};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct TimeArgs {
    /// An IANA timezone name, e.g. "Asia/Tokyo" or "Europe/Paris".
    pub timezone: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct WaitArgs {
    /// How long to wait, in seconds (at most 60).
    pub seconds: f64,
}

/// Longest `wait`.
const MAX_WAIT_SECS: f64 = 60.0;
/// How many progress reports a `wait` sends.
const WAIT_STEPS: u32 = 10;

#[derive(Clone)]
pub struct TimeServer {
    tool_router: ToolRouter<Self>,
    /// How long each answer waits (to try timeouts, stop and progress; zero by default).
    delay: std::time::Duration,
}

impl Default for TimeServer {
    fn default() -> Self {
        Self::with_delay(std::time::Duration::ZERO)
    }
}

impl TimeServer {
    pub fn with_delay(delay: std::time::Duration) -> Self {
        Self { tool_router: Self::tool_router(), delay }
    }
}

#[tool_router]
impl TimeServer {
    #[tool(description = "The current date and time in an IANA timezone")]
    async fn get_current_time(
        &self,
        Parameters(TimeArgs { timezone }): Parameters<TimeArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        tokio::time::sleep(self.delay).await;
        Ok(match now_in(&timezone) {
            Ok(now) => CallToolResult::success(vec![ContentBlock::text(now)]),
            // A tool error the model reads (not a protocol error): it may try another name.
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e)]),
        })
    }

    #[tool(description = "Who the request is from, as the auth server vouched for them")]
    async fn whoami(
        &self,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match parts.extensions.get::<identity::Caller>() {
            Some(caller) => CallToolResult::success(vec![ContentBlock::text(format!(
                "You are {} (user {}).",
                caller.username, caller.user_id
            ))]),
            None => CallToolResult::error(vec![ContentBlock::text(
                "This server does not check who calls it (it was started without --issuer or --oauth).",
            )]),
        })
    }

    #[tool(description = "Waits some seconds (at most 60), reporting its progress, then says so")]
    async fn wait(
        &self,
        Parameters(WaitArgs { seconds }): Parameters<WaitArgs>,
        meta: RequestMetaObject,
        client: Peer<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if !(0.0..=MAX_WAIT_SECS).contains(&seconds) {
            let refusal = format!("seconds must be from 0 to {MAX_WAIT_SECS}");
            return Ok(CallToolResult::error(vec![ContentBlock::text(refusal)]));
        }
        let token = meta.get_progress_token();
        let step = std::time::Duration::from_secs_f64(seconds / f64::from(WAIT_STEPS));
        for done in 1..=WAIT_STEPS {
            tokio::time::sleep(step).await;
            if let Some(token) = &token {
                let report = ProgressNotificationParam::new(token.clone(), f64::from(done))
                    .with_total(f64::from(WAIT_STEPS))
                    .with_message(format!("{done} of {WAIT_STEPS} steps"));
                // A client that no longer listens is no reason to stop waiting.
                let _ = client.notify_progress(report).await;
            }
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!("waited {seconds} seconds"))]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TimeServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mcp-time", env!("CARGO_PKG_VERSION")))
            .with_instructions("Tells the current time in any IANA timezone.")
    }
}

/// The time now in `timezone`, e.g. `2026-12-03T14:05:09+09:00[Asia/Tokyo] (Thursday)`.
pub fn now_in(timezone: &str) -> Result<String, String> {
    let zone = jiff::tz::TimeZone::get(timezone.trim())
        .map_err(|_| format!("unknown timezone {timezone:?}: use an IANA name such as \"Asia/Tokyo\""))?;
    let now = jiff::ZonedDateTime::new(jiff::Timestamp::now(), zone);
    Ok(format!("{} ({})", now.strftime("%Y-%m-%dT%H:%M:%S%:z[%Q]"), now.strftime("%A")))
}

/// The MCP endpoint, to mount at `/mcp`. `hosts` are the `Host` header values it answers
/// (the SDK's guard against DNS rebinding).
pub fn service(
    hosts: Vec<String>,
    delay: std::time::Duration,
) -> StreamableHttpService<TimeServer, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts);
    let make = move || Ok(TimeServer::with_delay(delay));
    StreamableHttpService::new(make, LocalSessionManager::default().into(), config)
}

/// Serves the endpoint at `/mcp` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with_delay(listener, std::time::Duration::ZERO).await
}

/// [`serve`], each answer waiting `delay` first.
pub async fn serve_with_delay(
    listener: tokio::net::TcpListener,
    delay: std::time::Duration,
) -> std::io::Result<()> {
    serve_with(listener, delay, None).await
}

/// [`serve_with_delay`], and with `identity`, only for callers the auth server vouches for.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    delay: std::time::Duration,
    identity: Option<identity::Identity>,
) -> std::io::Result<()> {
    let mut app = mcp_router(&listener, delay)?;
    if let Some(identity) = identity {
        app = identity::protect(app, identity);
    }
    serve_app(listener, app).await
}

/// [`serve_with_delay`], only for callers signed in with this server's own authorization
/// server (see [`oauth`]), whose endpoints it serves too, at `http://ADDR` (the issuer).
pub async fn serve_oauth(
    listener: tokio::net::TcpListener,
    delay: std::time::Duration,
    options: oauth::Options,
) -> std::io::Result<()> {
    let resource = format!("http://{}/mcp", listener.local_addr()?);
    serve_oauth_for(listener, delay, options, &resource).await
}

/// [`serve_oauth`] for clients that reach the MCP endpoint as `resource` (e.g. behind a
/// proxy) rather than `http://ADDR/mcp`: the one audience its tokens are for (RFC 8707).
pub async fn serve_oauth_for(
    listener: tokio::net::TcpListener,
    delay: std::time::Duration,
    options: oauth::Options,
    resource: &str,
) -> std::io::Result<()> {
    let base = format!("http://{}", listener.local_addr()?);
    let app = oauth::protect(mcp_router(&listener, delay)?, &base, resource, options);
    serve_app(listener, app).await
}

/// The MCP endpoint at `/mcp`, for the hosts `listener` is reached as.
fn mcp_router(
    listener: &tokio::net::TcpListener,
    delay: std::time::Duration,
) -> std::io::Result<axum::Router> {
    let port = listener.local_addr()?.port();
    let hosts =
        ["127.0.0.1", "localhost"].iter().flat_map(|h| [h.to_string(), format!("{h}:{port}")]).collect();
    Ok(axum::Router::new().nest_service("/mcp", service(hosts, delay)))
}

/// Serves `app` on `listener` until the task is dropped.
async fn serve_app(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    // An answer is written in pieces (headers, then the event stream): without this, Nagle's
    // algorithm holds the last piece for the client's delayed ACK, 40 ms a call.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn tells_the_time_in_a_zone_and_refuses_unknown_ones() {
        let tokyo = super::now_in("Asia/Tokyo").unwrap();
        assert!(tokyo.contains("+09:00[Asia/Tokyo]"), "{tokyo}");
        let error = super::now_in("Mars/Olympus").unwrap_err();
        assert!(error.contains("unknown timezone"), "{error}");
    }
}
