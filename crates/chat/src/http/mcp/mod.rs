//! MCP servers: a user's own (`/api/v1/mcp-servers/`), those an administrator offers to
//! everyone or to a role (`/api/v1/admin/mcp-servers/`), "test connection" and approvals
//! (`using`), and users' own sign-ins to servers that require one (`oauth`).

use api_types::error::ErrorBody;
use api_types::mcp::{CreateMcpServer, McpScope, McpServer, UpdateMcpServer};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use common::http::{ApiError, ApiResult, Json};
use common::token::AccessClaims;

use super::messages::store_error;
use super::validate::MAX_ID_CHARS;
use crate::auth::AuthUser;
use crate::state::AppState;
use crate::store::{MAX_MCP_SERVERS_PER_USER, McpServerPatch, McpServerRecord};
use crate::tools::{AUTHORIZATION_CLASH, IDENTITY_CLASH, authorization_clash, config_of, identity_clash};
use input::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, config, secret, server_url, text};

pub(super) mod admin;
mod input;
pub(super) mod oauth;
pub(super) mod using;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/mcp-servers/", get(list).post(create))
        .route("/api/v1/mcp-servers/{id}", get(read).put(update).delete(remove))
        .route("/api/v1/mcp-servers/{id}/test", post(using::test))
        .route("/api/v1/mcp-servers/{id}/ask-before", put(using::set_ask_before))
        .route("/api/v1/mcp-servers/{id}/oauth/start", post(oauth::start))
        .route("/api/v1/mcp-servers/{id}/oauth", axum::routing::delete(oauth::sign_out))
        .route("/api/v1/mcp-servers/oauth/callback", post(oauth::callback))
        .route("/api/v1/admin/mcp-servers/", get(admin::list).post(admin::create))
        .route("/api/v1/admin/mcp-servers/{id}", get(admin::read).put(admin::update).delete(admin::remove))
}

/// Most servers a conversation may name.
const MAX_CHOSEN: usize = 50;

/// A conversation's choice as stored (`None`: every active server), each named server one the
/// caller may use.
pub(crate) async fn choice_to_store(
    state: &AppState,
    claims: &AccessClaims,
    choice: api_types::chat::McpChoice,
) -> ApiResult<Option<String>> {
    let servers = match choice {
        api_types::chat::McpChoice::All => return Ok(None),
        api_types::chat::McpChoice::Only { servers } => servers,
    };
    if servers.len() > MAX_CHOSEN {
        return Err(ApiError::invalid_field("mcp_servers", format!("may name at most {MAX_CHOSEN} servers")));
    }
    let usable = state.db.mcp_servers_for(&claims.sub).await.map_err(store_error)?;
    let mut chosen: Vec<String> = Vec::with_capacity(servers.len());
    for id in servers {
        if !usable.iter().any(|s| s.id == id && s.usable_by(&claims.sub, &claims.roles)) {
            return Err(ApiError::invalid_field(
                "mcp_servers",
                "names a server you may not use (or none at all)",
            ));
        }
        if !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    Ok(Some(serde_json::to_string(&chosen).expect("ids serialise")))
}

fn not_found() -> ApiError {
    ApiError::not_found("MCP server not found")
}

fn admin_only(claims: &AccessClaims) -> ApiResult<()> {
    if claims.has_role("admin") {
        Ok(())
    } else {
        Err(ApiError::forbidden("Only an administrator can manage the MCP servers offered to everyone"))
    }
}

/// What the caller chose about servers: their tools that wait for approval (server, tool), and
/// the servers they signed in to.
#[derive(Default)]
struct Mine {
    asks: Vec<(String, String)>,
    signed_in: Vec<String>,
}

async fn mine(state: &AppState, claims: &AccessClaims) -> ApiResult<Mine> {
    Ok(Mine {
        asks: state.db.ask_before(&claims.sub).await.map_err(store_error)?,
        signed_in: state.db.oauth_signed_in(&claims.sub).await.map_err(store_error)?,
    })
}

/// `server` as the caller sees it.
fn to_wire(server: &McpServerRecord, claims: &AccessClaims, mine: &Mine) -> McpServer {
    let editable = match server.scope {
        McpScope::User => server.owner_id.as_deref() == Some(claims.sub.as_str()),
        McpScope::Global | McpScope::Role => claims.has_role("admin"),
    };
    // A shared server's address may carry a token (in its path or query): only those who may
    // change it see more than its origin.
    let server_url = match editable {
        true => server.server_url.clone(),
        false => http_client::Url::parse(&server.server_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default(),
    };
    McpServer {
        id: server.id.clone(),
        name: server.name.clone(),
        description: server.description.clone(),
        server_url,
        is_active: server.is_active,
        config: config_of(server),
        has_secret: server.secret.is_some(),
        scope: server.scope,
        role: server.role.clone(),
        editable,
        ask_before: mine
            .asks
            .iter()
            .filter(|(id, _)| *id == server.id)
            .map(|(_, tool)| tool.clone())
            .collect(),
        signed_in: mine.signed_in.contains(&server.id),
        created_at: common::clock::rfc3339_millis(server.created_at),
        updated_at: common::clock::rfc3339_millis(server.updated_at),
    }
}

/// The server `id` if the caller may see it: their own or a shared one for them (any shared one
/// for an administrator).
async fn visible(state: &AppState, claims: &AccessClaims, id: &str) -> ApiResult<McpServerRecord> {
    if id.len() > MAX_ID_CHARS {
        return Err(not_found());
    }
    let server = state.db.mcp_server(id).await.map_err(store_error)?.ok_or_else(not_found)?;
    let admin_sees = server.scope != McpScope::User && claims.has_role("admin");
    if admin_sees || server.usable_by(&claims.sub, &claims.roles) { Ok(server) } else { Err(not_found()) }
}

/// The caller's own server `id` (a shared one is 403: only administrators change those).
async fn own(state: &AppState, claims: &AccessClaims, id: &str) -> ApiResult<McpServerRecord> {
    let server = visible(state, claims, id).await?;
    if server.scope != McpScope::User {
        return Err(ApiError::forbidden(
            "This MCP server is offered by an administrator: only an administrator can change it",
        ));
    }
    Ok(server)
}

async fn shared(state: &AppState, claims: &AccessClaims, id: &str) -> ApiResult<McpServerRecord> {
    admin_only(claims)?;
    let server = visible(state, claims, id).await?;
    if server.scope == McpScope::User {
        return Err(not_found());
    }
    Ok(server)
}

fn too_many_servers() -> ApiError {
    ApiError::conflict(format!(
        "You have {MAX_MCP_SERVERS_PER_USER} MCP servers, the most one user may register: delete one first"
    ))
}

async fn insert(
    state: &AppState,
    claims: &AccessClaims,
    body: CreateMcpServer,
    owner: Option<String>,
    scope: McpScope,
    role: Option<String>,
) -> ApiResult<(StatusCode, Json<McpServer>)> {
    let id = common::ids::random_id(12);
    let now = common::clock::now_millis();
    let sealed = body
        .secret
        .as_deref()
        .map(secret)
        .transpose()?
        .flatten()
        .map(|value| state.generations.tools().seal(&id, &value));
    let record = McpServerRecord {
        id,
        owner_id: owner,
        scope,
        role,
        name: text("name", &body.name, MAX_NAME_CHARS, true)?,
        description: text(
            "description",
            body.description.as_deref().unwrap_or_default(),
            MAX_DESCRIPTION_CHARS,
            false,
        )?,
        server_url: server_url(state, &body.server_url)?,
        is_active: body.is_active.unwrap_or(true),
        config: config(body.config.unwrap_or_default())?,
        secret: sealed,
        created_at: now,
        updated_at: now,
    };
    no_header_clash(&record.config, record.secret.is_some())?;
    no_borrowed_identity(state, &record).await?;
    let cap = record.owner_id.as_ref().map(|_| MAX_MCP_SERVERS_PER_USER);
    if !state.db.insert_mcp_server(&record, cap).await.map_err(store_error)? {
        return Err(too_many_servers());
    }
    Ok((StatusCode::CREATED, Json(to_wire(&record, claims, &Mine::default()))))
}

async fn change(
    state: &AppState,
    claims: &AccessClaims,
    server: &McpServerRecord,
    body: UpdateMcpServer,
    scope: Option<(McpScope, Option<String>)>,
) -> ApiResult<Json<McpServer>> {
    let patch = McpServerPatch {
        name: body.name.as_deref().map(|n| text("name", n, MAX_NAME_CHARS, true)).transpose()?,
        description: body
            .description
            .as_deref()
            .map(|d| text("description", d, MAX_DESCRIPTION_CHARS, false))
            .transpose()?,
        server_url: body.server_url.as_deref().map(|u| server_url(state, u)).transpose()?,
        is_active: body.is_active,
        config: body.config.map(config).transpose()?,
        secret: match body.secret.as_deref() {
            Some(raw) => Some(secret(raw)?.map(|value| state.generations.tools().seal(&server.id, &value))),
            None => None,
        },
        scope: scope.as_ref().map(|(scope, _)| *scope),
        role: scope.map(|(_, role)| role),
    };
    let has_secret = patch.secret.as_ref().map_or(server.secret.is_some(), Option::is_some);
    no_header_clash(patch.config.as_deref().unwrap_or(&server.config), has_secret)?;
    let changed = McpServerRecord {
        server_url: patch.server_url.clone().unwrap_or_else(|| server.server_url.clone()),
        config: patch.config.clone().unwrap_or_else(|| server.config.clone()),
        scope: patch.scope.unwrap_or(server.scope),
        ..server.clone()
    };
    no_borrowed_identity(state, &changed).await?;
    let updated = state
        .db
        .update_mcp_server(&server.id, patch, common::clock::now_millis())
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    // Sign-ins were made for the old address (tokens are bound to it, RFC 8707), or are no
    // longer asked for.
    if updated.server_url != server.server_url || config_of(&updated).oauth != Some(true) {
        state.db.forget_oauth(&server.id).await.map_err(store_error)?;
    }
    state.generations.tools().mcp.forget_server(&server.id);
    Ok(Json(to_wire(&updated, claims, &mine(state, claims).await?)))
}

/// A server's secret, the user's identity and the user's own sign-in cannot share the
/// `Authorization` header.
fn no_header_clash(config_json: &str, has_secret: bool) -> ApiResult<()> {
    let config = serde_json::from_str(config_json).unwrap_or_default();
    if authorization_clash(&config, has_secret) {
        return Err(ApiError::invalid_field("config.oauth", AUTHORIZATION_CLASH));
    }
    match identity_clash(&config, has_secret) {
        true => Err(ApiError::invalid_field("config.identity", IDENTITY_CLASH)),
        false => Ok(()),
    }
}

/// A user's own server may not send the user's identity to the address of a server an
/// administrator offers: its token would name the user to that server as if an administrator
/// had offered it to them (a server that serves only some users should still check the token's
/// `roles`).
async fn no_borrowed_identity(state: &AppState, server: &McpServerRecord) -> ApiResult<()> {
    if server.scope != McpScope::User || config_of(server).identity != Some(true) {
        return Ok(());
    }
    let shared = state.db.shared_mcp_servers().await.map_err(store_error)?;
    if shared.iter().any(|s| s.server_url == server.server_url) {
        return Err(ApiError::invalid_field(
            "config.identity",
            "this address is a server an administrator offers: use theirs to send who you are",
        ));
    }
    Ok(())
}

async fn delete_server(state: &AppState, server: &McpServerRecord) -> ApiResult<StatusCode> {
    if !state.db.delete_mcp_server(&server.id).await.map_err(store_error)? {
        return Err(not_found());
    }
    state.generations.tools().mcp.forget_server(&server.id);
    Ok(StatusCode::NO_CONTENT)
}

/// The MCP servers the caller may use: their own, then those an administrator offers them.
#[utoipa::path(get, operation_id = "list_mcp_servers", path = "/api/v1/mcp-servers/", tag = "tools", security(("bearer" = [])),
    responses((status = 200, body = Vec<McpServer>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> ApiResult<Json<Vec<McpServer>>> {
    let servers = state.db.mcp_servers_for(&claims.sub).await.map_err(store_error)?;
    let mine = mine(&state, &claims).await?;
    Ok(Json(
        servers
            .iter()
            .filter(|s| s.usable_by(&claims.sub, &claims.roles))
            .map(|s| to_wire(s, &claims, &mine))
            .collect(),
    ))
}

/// Registers an MCP server for the caller (at most 50). Its URL must be `https://` and public
/// (`docs/security.md`, "Tools"); nothing connects to it until it is tested or used.
#[utoipa::path(post, operation_id = "create_mcp_server", path = "/api/v1/mcp-servers/", tag = "tools", request_body = CreateMcpServer,
    security(("bearer" = [])),
    responses((status = 201, body = McpServer), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Json(body): Json<CreateMcpServer>,
) -> ApiResult<(StatusCode, Json<McpServer>)> {
    if body.scope.is_some_and(|s| s != McpScope::User) || body.role.is_some() {
        return Err(ApiError::invalid_field(
            "scope",
            "only administrators offer servers to others (/api/v1/admin/mcp-servers/)",
        ));
    }
    let count = state.db.count_mcp_servers(&claims.sub).await.map_err(store_error)?;
    if count >= MAX_MCP_SERVERS_PER_USER {
        return Err(too_many_servers());
    }
    let owner = Some(claims.sub.clone());
    insert(&state, &claims, body, owner, McpScope::User, None).await
}

/// One MCP server the caller may use.
#[utoipa::path(get, operation_id = "read_mcp_server", path = "/api/v1/mcp-servers/{id}", tag = "tools", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = McpServer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<McpServer>> {
    let server = visible(&state, &claims, &id).await?;
    Ok(Json(to_wire(&server, &claims, &mine(&state, &claims).await?)))
}

/// Changes the caller's own MCP server; fields left out stay as they are, `secret: ""` removes
/// the secret.
#[utoipa::path(put, operation_id = "update_mcp_server", path = "/api/v1/mcp-servers/{id}", tag = "tools", request_body = UpdateMcpServer,
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = McpServer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    Json(body): Json<UpdateMcpServer>,
) -> ApiResult<Json<McpServer>> {
    let server = own(&state, &claims, &id).await?;
    if body.scope.is_some_and(|s| s != McpScope::User) || body.role.is_some() {
        return Err(ApiError::invalid_field("scope", "only administrators offer servers to others"));
    }
    change(&state, &claims, &server, body, None).await
}

/// Deletes the caller's own MCP server; replies already running lose its tools at their next
/// call.
#[utoipa::path(delete, operation_id = "delete_mcp_server", path = "/api/v1/mcp-servers/{id}", tag = "tools", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let server = own(&state, &claims, &id).await?;
    delete_server(&state, &server).await
}
