//! An example Model Context Protocol server over Streamable HTTP, built with the official SDK
//! (`rmcp`): one tool, `get_current_time`, answers the current time in an IANA timezone — the
//! tool the original project's docs used to show MCP. Open ChatBot's tests use it as a real MCP
//! server; `cargo run -p mcp-time` serves it on 127.0.0.1:8765.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct TimeArgs {
    /// An IANA timezone name, e.g. "Asia/Tokyo" or "Europe/Paris".
    pub timezone: String,
}

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
    let port = listener.local_addr()?.port();
    let hosts =
        ["127.0.0.1", "localhost"].iter().flat_map(|h| [h.to_string(), format!("{h}:{port}")]).collect();
    let app = axum::Router::new().nest_service("/mcp", service(hosts, delay));
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
