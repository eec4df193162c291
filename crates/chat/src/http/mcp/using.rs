//! Using a server: "test connection" (the tools it lists now) and which of its tools ask the
//! caller before each run.

use api_types::error::ErrorBody;
use api_types::mcp::{AskBefore, McpServer, McpServerTools, McpTool};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult, Json};

use super::{input, mine, not_found, to_wire, visible};
use crate::auth::{AuthUser, BearerToken};
use crate::http::messages::store_error;
use crate::state::AppState;
use crate::tools::Caller;
use crate::tools::mcp::McpError;

/// "Test connection": connects to the server (MCP `initialize`) and lists its tools afresh. A
/// server that cannot be reached or used answers 502 (504 when it is too slow), saying why; 409
/// when the administrator switched tools off.
#[utoipa::path(post, operation_id = "test_mcp_server", path = "/api/v1/mcp-servers/{id}/test", tag = "tools", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = McpServerTools), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 504, body = ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    BearerToken(token): BearerToken,
    Path(id): Path<String>,
) -> ApiResult<Json<McpServerTools>> {
    let server = visible(&state, &claims, &id).await?;
    let tools = state.generations.tools();
    if !tools.enabled() {
        return Err(ApiError::conflict("Tools are switched off on this server (chat.tools.enabled)"));
    }
    let Some(_testing) = tools.begin_test(&claims.sub) else {
        return Err(ApiError::too_many_requests_with(
            1,
            "A connection test of yours is already running: wait for it to end",
        ));
    };
    let unusable = |e: McpError| {
        let status = match e {
            McpError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError::new(status, format!("The MCP server {:?} cannot be used: {e}", server.name))
    };
    let caller = Caller { id: &claims.sub, token: Some(&token) };
    let target = tools.target(&server, caller).await.map_err(unusable)?;
    let listing = tools.mcp.list(&target, &claims.sub, true).await.map_err(unusable)?;
    Ok(Json(McpServerTools {
        server_name: listing.server_name,
        server_version: listing.server_version,
        tools: listing
            .tools
            .iter()
            .map(|t| McpTool {
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: t.input_schema.to_string(),
            })
            .collect(),
    }))
}

/// Sets which of the server's tools wait for the caller's approval before each run (their
/// choice alone, also on a shared server). Names need not be listed by the server now: a tool
/// it adds later under such a name asks too.
#[utoipa::path(put, operation_id = "set_mcp_ask_before", path = "/api/v1/mcp-servers/{id}/ask-before", tag = "tools",
    request_body = AskBefore, security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = McpServer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn set_ask_before(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    Json(body): Json<AskBefore>,
) -> ApiResult<Json<McpServer>> {
    let server = visible(&state, &claims, &id).await?;
    let tools = input::ask_before(body.tools)?;
    if !state.db.set_ask_before(&server.id, &claims.sub, &tools).await.map_err(store_error)? {
        return Err(not_found());
    }
    Ok(Json(to_wire(&server, &claims, &mine(&state, &claims).await?)))
}
