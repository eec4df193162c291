//! The MCP client: one session per server and user over Streamable HTTP (rmcp), made through
//! the egress policy; the server's tools cached until it says they changed
//! (`notifications/tools/list_changed`) or five minutes pass; calls bounded in time and size,
//! cancelled (`notifications/cancelled`) when the caller gives up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientCapabilities, ClientConfig, ClientRequest, ContentBlock,
    Implementation, ProgressNotificationParam, ProgressToken, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};

use super::egress::Egress;
use text::{connect_error, service_error, truncate};

mod following;
mod listing;
mod text;

use following::Abandoned;
use listing::list_tools;
pub(crate) use text::http_error;

/// Longest wait to connect and finish the MCP handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a tool list.
const LIST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a tool list is trusted without a change notification.
const TOOLS_TTL: Duration = Duration::from_secs(300);
/// Largest answer read from a server (one JSON body or one event of a stream).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Most of a tool's result given to the model (and stored); the rest is cut with a note.
pub const MAX_RESULT_BYTES: usize = 32 * 1024;
/// Most tools taken from one server, and most pages of its list read.
const MAX_TOOLS: usize = 64;
const MAX_PAGES: usize = 4;
/// Longest description and parameter schema (as JSON) of a tool taken (longer: left out).
const MAX_DESCRIPTION_BYTES: usize = 4 * 1024;
const MAX_SCHEMA_BYTES: usize = 16 * 1024;
/// Sessions kept open (least recently used closed first), in all and per user, and how long an
/// idle one lives.
const MAX_SESSIONS: usize = 256;
const MAX_SESSIONS_PER_USER: usize = 16;
const SESSION_IDLE: Duration = Duration::from_secs(600);
/// How long a server whose tools could not be listed is left out of a user's replies before it
/// is tried again (so a server that is down does not hold every reply for the connect timeout);
/// a connection test tries at once. At most this many such failures are kept.
const FAILED_FOR: Duration = Duration::from_secs(30);
const MAX_FAILURES: usize = 1024;
/// Longest progress message kept (characters).
const MAX_PROGRESS_MESSAGE_CHARS: usize = 200;

/// Where and how to reach one server.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub server_id: String,
    pub url: String,
    /// Headers sent with every request, as given: the server's secret, and the token minted
    /// for it when it must know the user.
    pub headers: Vec<(String, String)>,
    /// Changes when the server's settings change, so an edited server gets a new session.
    pub version: i64,
}

/// The headers' values are secrets: never printed.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Target")
            .field("server_id", &self.server_id)
            .field("url", &self.url)
            .field("headers", &names)
            .field("version", &self.version)
            .finish()
    }
}

/// A tool as a server describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// What a server told about itself, and its tools.
#[derive(Debug, Clone)]
pub struct Listing {
    pub server_name: String,
    pub server_version: String,
    pub tools: Arc<Vec<Tool>>,
}

/// A call's outcome as the model reads it: the text of the result (cut at
/// [`MAX_RESULT_BYTES`]), and whether the tool reported an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    pub content: String,
    pub is_error: bool,
    /// The result's size before any cut.
    pub bytes: usize,
}

/// Why a server could not be used; the message is safe to show to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    #[error("{0}")]
    Egress(String),
    #[error("could not connect to the MCP server: {0}")]
    Connect(String),
    #[error("the MCP server did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the MCP server failed: {0}")]
    Failed(String),
}

/// The MCP sessions of this process.
pub struct Mcp {
    egress: Egress,
    http: http_client::Client,
    sessions: Mutex<HashMap<(String, String), Arc<Session>>>,
    /// Recent failures to list a server's tools, per server and user.
    failures: Mutex<HashMap<(String, String), (Instant, McpError)>>,
}

struct Session {
    target: Target,
    service: RunningService<RoleClient, Handler>,
    /// Set by `notifications/tools/list_changed`.
    stale: Arc<AtomicBool>,
    progress: Progress,
    tools: tokio::sync::Mutex<Option<(Instant, Arc<Vec<Tool>>)>>,
    used: Mutex<Instant>,
}

/// A running call's progress as its server reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallProgress {
    pub progress: f64,
    pub total: Option<f64>,
    pub message: Option<String>,
}

/// The latest progress of each running call of a session, by progress token (a server that
/// reports faster than it is read only overwrites its own latest report).
type Progress = Arc<Mutex<HashMap<ProgressToken, tokio::sync::watch::Sender<Option<CallProgress>>>>>;

#[derive(Clone)]
struct Handler {
    stale: Arc<AtomicBool>,
    progress: Progress,
}

impl ClientHandler for Handler {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.stale.store(true, Ordering::Release);
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let calls = self.progress.lock().expect("progress lock poisoned");
        let Some(latest) = calls.get(&params.progress_token) else { return };
        if !params.progress.is_finite() {
            return;
        }
        latest.send_replace(Some(CallProgress {
            progress: params.progress,
            total: params.total.filter(|t| t.is_finite()),
            message: params
                .message
                .map(|m| m.chars().filter(|c| !c.is_control()).take(MAX_PROGRESS_MESSAGE_CHARS).collect()),
        }));
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("openchat", env!("CARGO_PKG_VERSION")),
        )
    }
}

impl Mcp {
    pub fn new(egress: Egress) -> Self {
        // No overall timeout: a tool call's own bounds the wait (an answer may stream for minutes).
        let http = egress.client_without_redirects(CONNECT_TIMEOUT);
        Self { egress, http, sessions: Mutex::default(), failures: Mutex::default() }
    }

    pub fn egress(&self) -> &Egress {
        &self.egress
    }

    /// The server's tools for `user`: cached, unless `refresh` or the server said they changed.
    /// A server that failed in the last [`FAILED_FOR`] fails again at once, unless `refresh`.
    pub async fn list(&self, target: &Target, user: &str, refresh: bool) -> Result<Listing, McpError> {
        let key = (target.server_id.clone(), user.to_owned());
        if !refresh {
            let failures = self.failures.lock().expect("failures lock poisoned");
            if let Some((_, error)) = failures.get(&key).filter(|(at, _)| at.elapsed() < FAILED_FOR) {
                return Err(error.clone());
            }
        }
        let listed = self.list_now(target, user, refresh).await;
        let mut failures = self.failures.lock().expect("failures lock poisoned");
        match &listed {
            Ok(_) => {
                failures.remove(&key);
            }
            Err(error) => {
                if failures.len() >= MAX_FAILURES {
                    failures.retain(|_, (at, _)| at.elapsed() < FAILED_FOR);
                }
                if failures.len() < MAX_FAILURES {
                    failures.insert(key, (Instant::now(), error.clone()));
                }
            }
        }
        listed
    }

    async fn list_now(&self, target: &Target, user: &str, refresh: bool) -> Result<Listing, McpError> {
        let session = self.session(target, user).await?;
        let mut cached = session.tools.lock().await;
        let stale = session.stale.swap(false, Ordering::AcqRel);
        let fresh = cached.as_ref().filter(|(at, _)| !refresh && !stale && at.elapsed() < TOOLS_TTL);
        let tools = match fresh {
            Some((_, tools)) => tools.clone(),
            None => {
                let listed = match tokio::time::timeout(LIST_TIMEOUT, list_tools(&session.service)).await {
                    Ok(Ok(tools)) => tools,
                    Ok(Err(e)) => {
                        self.forget(target, user);
                        return Err(McpError::Failed(service_error(&e)));
                    }
                    Err(_) => return Err(McpError::Timeout(LIST_TIMEOUT.as_secs())),
                };
                let tools = Arc::new(listed);
                *cached = Some((Instant::now(), tools.clone()));
                tools
            }
        };
        let info = session.service.peer_info();
        let implementation = info.as_ref().and_then(|i| i.server_info.as_ref());
        Ok(Listing {
            server_name: implementation.map(|i| i.name.clone()).unwrap_or_default(),
            server_version: implementation.map(|i| i.version.clone()).unwrap_or_default(),
            tools,
        })
    }

    /// Calls a tool, passing on its progress reports; gives up (and tells the server) after
    /// `timeout`, or when the returned future is dropped.
    pub async fn call(
        &self,
        target: &Target,
        user: &str,
        tool: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        timeout: Duration,
        mut on_progress: impl FnMut(CallProgress),
    ) -> Result<CallResult, McpError> {
        let session = self.session(target, user).await?;
        let mut params = CallToolRequestParams::new(tool.to_owned());
        params.arguments = Some(arguments);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let called = async {
            let peer = session.service.peer();
            let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
            let handle = peer.send_request_with_option(request, PeerRequestOptions::no_options()).await?;
            let watched = session.watch_progress(&handle.progress_token);
            let mut progress = watched.receiver.clone();
            let mut abandoned = Abandoned { peer: peer.clone(), id: Some(handle.id.clone()) };
            let response = handle.await_response();
            tokio::pin!(response);
            let answer = loop {
                tokio::select! {
                    answer = &mut response => break answer,
                    Ok(()) = progress.changed() => {
                        if let Some(report) = progress.borrow_and_update().clone() {
                            on_progress(report);
                        }
                    }
                    () = &mut deadline => return Ok(None),
                }
            };
            abandoned.id = None;
            answer.map(Some)
        };
        let result = match called.await {
            Ok(Some(ServerResult::CallToolResult(result))) => result,
            Ok(Some(_)) => {
                return Err(McpError::Failed(service_error(&rmcp::ServiceError::UnexpectedResponse)));
            }
            Ok(None) => return Err(McpError::Timeout(timeout.as_secs())),
            Err(e) => {
                if matches!(e, rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_)) {
                    self.forget(target, user);
                }
                return Err(McpError::Failed(service_error(&e)));
            }
        };
        let mut text = String::new();
        for block in &result.content {
            if !text.is_empty() {
                text.push('\n');
            }
            match block {
                ContentBlock::Text(t) => text.push_str(&t.text),
                ContentBlock::Image(_) => text.push_str("[an image]"),
                ContentBlock::Audio(_) => text.push_str("[a sound]"),
                ContentBlock::Resource(_) | ContentBlock::ResourceLink(_) => text.push_str("[a resource]"),
                _ => text.push_str("[content of another kind]"),
            }
        }
        if result.content.is_empty()
            && let Some(structured) = &result.structured_content
        {
            text = structured.to_string();
        }
        let bytes = text.len();
        Ok(CallResult { content: truncate(text), is_error: result.is_error.unwrap_or(false), bytes })
    }

    /// This user's session with the server, opened if needed.
    async fn session(&self, target: &Target, user: &str) -> Result<Arc<Session>, McpError> {
        let key = (target.server_id.clone(), user.to_owned());
        {
            let mut sessions = self.sessions.lock().expect("sessions lock poisoned");
            sessions.retain(|_, s| s.used.lock().expect("lock poisoned").elapsed() < SESSION_IDLE);
            if let Some(session) = sessions.get(&key).filter(|s| s.target == *target) {
                *session.used.lock().expect("lock poisoned") = Instant::now();
                return Ok(session.clone());
            }
        }
        let session = Arc::new(self.connect(target).await?);
        let mut sessions = self.sessions.lock().expect("sessions lock poisoned");
        // Past a cap, the least recently used session goes: the user's own when they have many
        // (one user's churn never closes everyone else's), else anyone's.
        let theirs = sessions.keys().filter(|(_, u)| u == user).count();
        if theirs >= MAX_SESSIONS_PER_USER || sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .filter(|((_, u), _)| theirs < MAX_SESSIONS_PER_USER || u == user)
                .min_by_key(|(_, s)| *s.used.lock().expect("lock poisoned"))
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(key, session.clone());
        Ok(session)
    }

    async fn connect(&self, target: &Target) -> Result<Session, McpError> {
        let url = self.egress.check(&target.url).map_err(|e| McpError::Egress(e.to_string()))?;
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
            .max_json_response_size(MAX_RESPONSE_BYTES)
            .max_sse_event_size(MAX_RESPONSE_BYTES);
        let mut headers = HashMap::new();
        for (name, value) in &target.headers {
            // Sent as given (rmcp's own `auth_header` would put "Bearer " in front).
            let name = http_client::header::HeaderName::try_from(name.as_str())
                .map_err(|_| McpError::Connect("the secret's header name is not valid".into()))?;
            let mut value = http_client::header::HeaderValue::try_from(value.as_str())
                .map_err(|_| McpError::Connect("the secret is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if !headers.is_empty() {
            config = config.custom_headers(headers);
        }
        let transport = StreamableHttpClientTransport::with_client(self.http.clone(), config);
        let stale = Arc::new(AtomicBool::new(false));
        let progress = Progress::default();
        let handler = Handler { stale: stale.clone(), progress: progress.clone() };
        let service = match tokio::time::timeout(CONNECT_TIMEOUT, handler.serve(transport)).await {
            Ok(Ok(service)) => service,
            Ok(Err(e)) => return Err(McpError::Connect(connect_error(&e))),
            Err(_) => return Err(McpError::Timeout(CONNECT_TIMEOUT.as_secs())),
        };
        Ok(Session {
            target: target.clone(),
            service,
            stale,
            progress,
            tools: tokio::sync::Mutex::new(None),
            used: Mutex::new(Instant::now()),
        })
    }

    /// Closes a user's session with a server (it failed, or the server was removed).
    pub fn forget(&self, target: &Target, user: &str) {
        let key = (target.server_id.clone(), user.to_owned());
        self.sessions.lock().expect("sessions lock poisoned").remove(&key);
    }

    /// Closes a user's session with a server and forgets its failure (they signed in or out).
    pub fn forget_user(&self, server_id: &str, user: &str) {
        let key = (server_id.to_owned(), user.to_owned());
        self.sessions.lock().expect("sessions lock poisoned").remove(&key);
        self.failures.lock().expect("failures lock poisoned").remove(&key);
    }

    /// Closes every session with a server (it was changed or removed).
    pub fn forget_server(&self, server_id: &str) {
        self.sessions.lock().expect("sessions lock poisoned").retain(|(id, _), _| id != server_id);
        self.failures.lock().expect("failures lock poisoned").retain(|(id, _), _| id != server_id);
    }
}
