//! Model Context Protocol servers whose tools the model may call (`/api/v1/mcp-servers/`, and
//! `/api/v1/admin/mcp-servers/` for the servers an administrator offers). Field names follow the
//! original project's later releases, so its clients keep working.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Who may use a server: its owner, everyone, or the users holding a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum McpScope {
    /// A user's own server (`/api/v1/mcp-servers/`).
    User,
    /// An administrator's server, for every user.
    Global,
    /// An administrator's server, for the users holding `role`.
    Role,
}

impl McpScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Global => "global",
            Self::Role => "role",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "global" => Some(Self::Global),
            "role" => Some(Self::Role),
            _ => None,
        }
    }
}

/// How the chat service talks to a server. Keys it does not know are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct McpServerConfig {
    /// Longest wait for one tool call, in seconds (1–3600; default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Longest wait for a call of the named tools, in seconds (1–3600 each, at most 64 tools),
    /// in place of `timeout_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_timeouts: Option<std::collections::BTreeMap<String, u64>>,
    /// The request header that carries the server's secret (default `Authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_header: Option<String>,
    /// Tell the server who the user is: each request carries, in `Authorization`, a token the
    /// auth server minted for this server alone (audience `server_url`, scope `mcp`, five
    /// minutes), never the user's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<bool>,
    /// The server requires each user's own sign-in (the MCP authorization spec: OAuth 2.1 with
    /// PKCE): a user connects their account from the Tools page, and each request carries their
    /// access token for this server (refreshed as it expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<bool>,
}

/// An MCP server, as its owner (or an administrator) sees it. Its secret is never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct McpServer {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The server's Streamable HTTP endpoint (e.g. `https://tools.example.com/mcp`); of a shared
    /// server its users see only the origin (`https://tools.example.com`: the path or query
    /// may hold a token).
    pub server_url: String,
    /// Inactive servers are kept but never offered to the model.
    pub is_active: bool,
    pub config: McpServerConfig,
    /// Whether a secret is stored for the server (sent in `config.secret_header`).
    pub has_secret: bool,
    pub scope: McpScope,
    /// For `scope: "role"`: the role whose users may use it.
    pub role: Option<String>,
    /// Whether the caller may change or delete it (their own, or any for an administrator).
    pub editable: bool,
    /// The caller's tools of this server that wait for their approval before each run.
    pub ask_before: Vec<String>,
    /// For a server that requires each user's sign-in (`config.oauth`): whether the caller has
    /// signed in.
    pub signed_in: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/v1/mcp-servers/` (and the admin route) body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct CreateMcpServer {
    /// 1–100 characters.
    pub name: String,
    /// At most 1 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// `https://…` (plain `http://` only for hosts an administrator allows).
    pub server_url: String,
    /// Default `true`.
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub config: Option<McpServerConfig>,
    /// A static secret the server expects in `config.secret_header` (as sent, e.g.
    /// `Bearer abc…`); stored encrypted, never returned. At most 4 096 characters.
    #[serde(default)]
    pub secret: Option<String>,
    /// Admin route only: `global` (default there) or `role`.
    #[serde(default)]
    pub scope: Option<McpScope>,
    /// Admin route only, with `scope: "role"`.
    #[serde(default)]
    pub role: Option<String>,
}

/// `PUT /api/v1/mcp-servers/{id}` body: fields left out stay as they are; `secret: ""` removes
/// the secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct UpdateMcpServer {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub server_url: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub config: Option<McpServerConfig>,
    #[serde(default)]
    pub secret: Option<String>,
    /// Admin route only.
    #[serde(default)]
    pub scope: Option<McpScope>,
    /// Admin route only.
    #[serde(default)]
    pub role: Option<String>,
}

/// `PUT /api/v1/mcp-servers/{id}/ask-before` body: the caller's tools of this server that wait
/// for their approval before each run (the whole list; `[]`: none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
pub struct AskBefore {
    /// Tool names (at most 64, each 1–128 characters).
    pub tools: Vec<String>,
}

/// `POST /api/v1/mcp-servers/{id}/oauth/start` body: where the sign-in comes back to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct OAuthStart {
    /// The web UI's page for it: `{origin}/tools/connected`, the origin one of the chat
    /// service's `cors_origins`.
    pub redirect_uri: String,
}

/// Where to send the user's browser to sign in to an MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct OAuthAuthorization {
    pub authorization_url: String,
}

/// `POST /api/v1/mcp-servers/oauth/callback` body: what the authorization server sent the
/// browser back with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct OAuthCallback {
    #[schema(min_length = 1, max_length = 2048)]
    pub state: String,
    #[schema(min_length = 1, max_length = 2048)]
    pub code: String,
}

/// One tool call in the audit (`GET /api/v1/admin/tool-calls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct ToolCallAudit {
    pub id: String,
    /// When the call ended (RFC 3339).
    pub at: String,
    pub user_id: String,
    pub username: String,
    pub conversation_id: String,
    /// The server's name when the call was made.
    pub server: String,
    pub tool: String,
    /// `ok`, `error` (the tool or its server failed, it timed out, or the reply was stopped) or
    /// `declined` (the user chose not to run it, or did not answer in time).
    pub outcome: String,
    pub duration_ms: u64,
    /// Bytes of the result given to the model.
    pub bytes: u64,
}

/// `GET /api/v1/admin/tool-calls` response, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct ToolCallAuditList {
    pub calls: Vec<ToolCallAudit>,
    /// How many calls match in all.
    pub total: i64,
}

/// One tool a server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct McpTool {
    pub name: String,
    pub description: String,
    /// Its parameters as a JSON Schema, as JSON text.
    pub input_schema: String,
}

/// What a server answered to "test connection" (`POST …/{id}/test`): its tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct McpServerTools {
    /// The name and version the server gave in `initialize`.
    pub server_name: String,
    pub server_version: String,
    pub tools: Vec<McpTool>,
}

/// One tool call of a reply: what the model asked, and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct ToolCall {
    /// The call's id (the model's).
    pub id: String,
    /// The tool's name on its server.
    pub name: String,
    /// The MCP server's name (as registered).
    pub server: String,
    /// The arguments the model wrote, as JSON text.
    pub arguments: String,
    /// Where the call happened: bytes of the reply's text written before it.
    pub offset: u64,
    /// What the tool answered (cut at 32 KiB), once it has; `null` while it runs or if it
    /// failed.
    pub result: Option<String>,
    /// Why the call failed (the tool said so, it timed out, its server could not be used, or the
    /// reply was stopped); `null` while it runs or if it succeeded.
    pub error: Option<String>,
    /// How long the call took, in milliseconds, once it has ended.
    pub duration_ms: Option<u64>,
    /// For a tool the user asked to approve first: `pending` until they answer, then `approved`
    /// or `declined` (left out for tools that run without asking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub approval: Option<ToolApproval>,
    /// The server's latest progress report while the call runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub progress: Option<ToolProgress>,
}

/// Where a call that needs the user's approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ToolApproval {
    Pending,
    Approved,
    Declined,
}

/// A running call's progress, as its server reported it (MCP `notifications/progress`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ToolProgress {
    /// How far it got, in the server's own unit.
    pub progress: f64,
    /// The end, when the server knows it.
    pub total: Option<f64>,
    /// What it is doing (at most 200 characters).
    pub message: Option<String>,
}

impl Eq for ToolProgress {}

/// `POST /api/v1/generations/{generation_id}/tool-calls/{call_id}/approval` body: the owner's
/// answer about a tool call waiting for approval.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct ToolCallAnswer {
    /// `true` runs the call; `false` declines it (the model is told).
    pub approved: bool,
}
