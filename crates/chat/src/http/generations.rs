//! A running reply's tool calls that wait for their owner's approval, answered over HTTP (the
//! WebSocket's `answer_tool_call`, for clients that stream replies as server-sent events).

use api_types::error::ErrorBody;
use api_types::mcp::ToolCallAnswer;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use common::http::{ApiError, ApiResult, Json};

use super::validate::{MAX_ID_CHARS, plausible_id};
use crate::auth::AuthUser;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/generations/{generation_id}/tool-calls/{call_id}/approval", post(answer))
}

/// Runs or declines a tool call of the caller's running reply that waits for their approval
/// (`call.approval: "pending"`); the reply goes on with `tool_call_updated` or
/// `tool_call_done`. 404 when no such call waits (answered already, or the reply ended).
#[utoipa::path(post, operation_id = "answer_tool_call",
    path = "/api/v1/generations/{generation_id}/tool-calls/{call_id}/approval", tag = "tools",
    request_body = ToolCallAnswer, security(("bearer" = [])),
    params(("generation_id" = String, Path), ("call_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path((generation_id, call_id)): Path<(String, String)>,
    Json(body): Json<ToolCallAnswer>,
) -> ApiResult<StatusCode> {
    let answered = answer_call(&state, &claims.sub, &generation_id, &call_id, body.approved).await;
    if answered { Ok(StatusCode::NO_CONTENT) } else { Err(not_waiting()) }
}

/// Passes the owner's answer to the call, wherever its reply runs; whether it was waiting.
pub(super) async fn answer_call(
    state: &AppState,
    owner: &str,
    generation_id: &str,
    call_id: &str,
    approved: bool,
) -> bool {
    plausible_id(generation_id)
        && !call_id.is_empty()
        && call_id.len() <= 2 * MAX_ID_CHARS
        && !call_id.contains('\n')
        && state.generations.answer(generation_id, owner, call_id, approved).await
}

pub(super) fn not_waiting() -> ApiError {
    ApiError::not_found("No tool call of that reply waits for an answer")
}
