//! The MCP servers an administrator offers to everyone or to a role
//! (`/api/v1/admin/mcp-servers/`).

use api_types::error::ErrorBody;
use api_types::mcp::{CreateMcpServer, McpServer, UpdateMcpServer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use common::http::{ApiResult, Json};

use super::input::shared_scope;
use super::{admin_only, change, delete_server, insert, mine, shared, to_wire};
use crate::auth::AuthUser;
use crate::http::messages::store_error;
use crate::state::AppState;

/// The MCP servers administrators offer (to everyone or to a role).
#[utoipa::path(get, operation_id = "admin_list_mcp_servers", path = "/api/v1/admin/mcp-servers/", tag = "tools", security(("bearer" = [])),
    responses((status = 200, body = Vec<McpServer>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> ApiResult<Json<Vec<McpServer>>> {
    admin_only(&claims)?;
    let servers = state.db.shared_mcp_servers().await.map_err(store_error)?;
    let mine = mine(&state, &claims).await?;
    Ok(Json(servers.iter().map(|s| to_wire(s, &claims, &mine)).collect()))
}

/// Offers an MCP server to every user (`scope: "global"`, the default) or to the users with a
/// role (`scope: "role"`, `role`).
#[utoipa::path(post, operation_id = "admin_create_mcp_server", path = "/api/v1/admin/mcp-servers/", tag = "tools",
    request_body = CreateMcpServer, security(("bearer" = [])),
    responses((status = 201, body = McpServer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Json(body): Json<CreateMcpServer>,
) -> ApiResult<(StatusCode, Json<McpServer>)> {
    admin_only(&claims)?;
    let (scope, role) = shared_scope(body.scope, body.role.as_deref())?;
    insert(&state, &claims, body, None, scope, role).await
}

#[utoipa::path(get, operation_id = "admin_read_mcp_server", path = "/api/v1/admin/mcp-servers/{id}", tag = "tools",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = McpServer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<McpServer>> {
    let server = shared(&state, &claims, &id).await?;
    Ok(Json(to_wire(&server, &claims, &mine(&state, &claims).await?)))
}

#[utoipa::path(put, operation_id = "admin_update_mcp_server", path = "/api/v1/admin/mcp-servers/{id}", tag = "tools",
    request_body = UpdateMcpServer, security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = McpServer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    Json(body): Json<UpdateMcpServer>,
) -> ApiResult<Json<McpServer>> {
    let server = shared(&state, &claims, &id).await?;
    let scope = match (body.scope, body.role.as_deref()) {
        (None, None) => None,
        (scope, role) => Some(shared_scope(scope.or(Some(server.scope)), role.or(server.role.as_deref()))?),
    };
    change(&state, &claims, &server, body, scope).await
}

#[utoipa::path(delete, operation_id = "admin_delete_mcp_server", path = "/api/v1/admin/mcp-servers/{id}", tag = "tools",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let server = shared(&state, &claims, &id).await?;
    delete_server(&state, &server).await
}
