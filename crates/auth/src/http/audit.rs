use api_types::auth::{AuditEvent, AuditList};
use api_types::error::ErrorBody;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::http::{ApiError, ApiResult, Json, Query, paging};
use serde::Deserialize;

use super::extract::AuthUser;
use crate::domain::Role;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
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
    /// Only this kind of event, e.g. `login_failed`.
    #[param(schema_with = api_types::rules::schema::audit_filter)]
    event: Option<String>,
    /// Only events about this username.
    #[param(schema_with = api_types::rules::schema::audit_filter)]
    username: Option<String>,
}

/// The security audit log, newest first (administrators only).
#[utoipa::path(get, operation_id = "list_audit_events", path = "/audit", tag = "users", params(AuditParams), security(("bearer" = [])),
    responses((status = 200, body = AuditList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<AuditList>> {
    if !p.user.roles.contains(Role::Admin) {
        return Err(ApiError::forbidden("Not enough permissions: administrator role required"));
    }
    let (limit, offset) = paging::page(params.limit, params.offset)?;
    let [event, username] = paging::filters([("event", &params.event), ("username", &params.username)])?;
    let (events, total) =
        state.db.list_audit(event, username, limit, offset).await.map_err(crate::accounts::store_error)?;
    let events = events
        .into_iter()
        .map(|e| AuditEvent {
            id: e.id,
            at: common::clock::rfc3339_millis(e.at),
            event: e.event,
            username: e.username,
            ip: e.ip,
            detail: e.detail,
        })
        .collect();
    Ok(Json(AuditList { events, total }))
}
