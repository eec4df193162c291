//! The tool-call audit, for administrators: every call any user's replies made.

use api_types::error::ErrorBody;
use api_types::mcp::{ToolCallAudit, ToolCallAuditList};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::http::{ApiError, ApiResult, Json, Query, paging};
use serde::Deserialize;

use super::messages::store_error;
use crate::auth::AuthUser;
use crate::state::AppState;
use crate::store::AuditFilter;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/admin/tool-calls", get(list))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    offset: Option<i64>,
    /// Only the calls of this username.
    #[param(schema_with = api_types::rules::schema::audit_filter)]
    username: Option<String>,
    /// Only the calls to servers of this name.
    #[param(schema_with = api_types::rules::schema::audit_filter)]
    server: Option<String>,
    /// Only the calls of this tool.
    #[param(schema_with = api_types::rules::schema::audit_filter)]
    tool: Option<String>,
    /// Only the calls that ended so: `ok`, `error` or `declined`.
    #[param(schema_with = api_types::rules::schema::audit_filter)]
    outcome: Option<String>,
}

/// Every tool call of every user, newest first (administrators only; kept 90 days).
#[utoipa::path(get, operation_id = "list_tool_call_audit", path = "/api/v1/admin/tool-calls", tag = "tools",
    params(AuditParams), security(("bearer" = [])),
    responses((status = 200, body = ToolCallAuditList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<ToolCallAuditList>> {
    if !claims.has_role("admin") {
        return Err(ApiError::forbidden("Only an administrator can read the tool-call audit"));
    }
    let (limit, offset) = paging::page(params.limit, params.offset)?;
    let [username, server, tool, outcome] = paging::filters([
        ("username", &params.username),
        ("server", &params.server),
        ("tool", &params.tool),
        ("outcome", &params.outcome),
    ])?;
    let filter = AuditFilter { username, server, tool, outcome };
    let (records, total) = state.db.tool_call_audit(&filter, limit, offset).await.map_err(store_error)?;
    let calls = records
        .into_iter()
        .map(|r| ToolCallAudit {
            id: r.id,
            at: common::clock::rfc3339_millis(r.at),
            user_id: r.user_id,
            username: r.username,
            conversation_id: r.conversation_id,
            server: r.server,
            tool: r.tool,
            outcome: r.outcome,
            duration_ms: r.duration_ms.max(0) as u64,
            bytes: r.bytes.max(0) as u64,
        })
        .collect();
    Ok(Json(ToolCallAuditList { calls, total }))
}
