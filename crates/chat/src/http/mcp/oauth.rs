//! A user's own sign-in to an MCP server that requires one (`config.oauth`): "Connect" begins
//! it (the address to send the browser to), the web UI hands back what the authorization
//! server returned, and "Disconnect" forgets it. See `tools::oauth`.

use api_types::error::ErrorBody;
use api_types::mcp::{McpServer, OAuthAuthorization, OAuthCallback, OAuthStart};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult, Json};
use common::token::AccessClaims;

use super::{McpServerRecord, mine, not_found, to_wire, visible};
use crate::auth::AuthUser;
use crate::state::AppState;
use crate::tools::config_of;
use crate::tools::oauth::OAuthError;

/// Longest `state` and `code` taken (authorization servers' are far shorter).
const MAX_PARAM_CHARS: usize = 2048;

/// A server the caller may use, that asks for a sign-in, with tools switched on.
async fn signing_into(state: &AppState, claims: &AccessClaims, id: &str) -> ApiResult<McpServerRecord> {
    let server = visible(state, claims, id).await?;
    if !server.usable_by(&claims.sub, &claims.roles) {
        return Err(not_found());
    }
    if !state.generations.tools().enabled() {
        return Err(ApiError::conflict("Tools are switched off on this server (chat.tools.enabled)"));
    }
    if config_of(&server).oauth != Some(true) {
        return Err(ApiError::conflict(format!(
            "The MCP server {:?} does not ask for a sign-in (config.oauth)",
            server.name
        )));
    }
    Ok(server)
}

/// The answer to a failed sign-in step, naming the server when it is known.
fn refused(server: Option<&str>, error: OAuthError) -> ApiError {
    match error {
        OAuthError::RedirectNotAllowed => ApiError::invalid_field("redirect_uri", error.to_string()),
        OAuthError::UnknownState => ApiError::not_found(capitalised(&error.to_string())),
        OAuthError::Store => ApiError::service_busy(5, capitalised(&error.to_string())),
        OAuthError::Busy => ApiError::service_busy(2, capitalised(&error.to_string())),
        OAuthError::NotSignedIn | OAuthError::Ended => ApiError::conflict(capitalised(&error.to_string())),
        OAuthError::Unreachable(_)
        | OAuthError::Invalid(_)
        | OAuthError::Refused(_)
        | OAuthError::NoMetadata(_) => {
            let server = server.map(|name| format!(" {name:?}")).unwrap_or_default();
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("Signing in to the MCP server{server} failed: {error}"),
            )
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Begins the caller's sign-in to a server that requires one (`config.oauth`): finds its
/// authorization server (RFC 9728, RFC 8414), registers with it once (RFC 7591), and answers the
/// address to send the browser to (authorization code with PKCE, S256; `resource` the server's
/// URL). The browser comes back to `redirect_uri` within ten minutes. 409 when the server asks
/// for no sign-in or tools are off; 422 for a `redirect_uri` that is not the web UI's; 502 when
/// its authorization server cannot be reached or used, saying why.
#[utoipa::path(post, operation_id = "start_mcp_oauth", path = "/api/v1/mcp-servers/{id}/oauth/start", tag = "tools",
    request_body = OAuthStart, security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = OAuthAuthorization), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    Json(body): Json<OAuthStart>,
) -> ApiResult<Json<OAuthAuthorization>> {
    let server = signing_into(&state, &claims, &id).await?;
    let tools = state.generations.tools();
    // Each start may make requests to another server: one at a time per user.
    let Some(_busy) = tools.begin_test(&claims.sub) else {
        return Err(ApiError::too_many_requests_with(
            1,
            "A connection test or sign-in of yours is already under way: wait for it to end",
        ));
    };
    let authorization_url = tools
        .sign_ins
        .start(&server, &claims.sub, &body.redirect_uri)
        .await
        .map_err(|e| refused(Some(&server.name), e))?;
    Ok(Json(OAuthAuthorization { authorization_url }))
}

/// Ends the caller's sign-in: `state` and `code` as the authorization server sent their browser
/// back with. A state is used once, only by the user who began the sign-in (404 otherwise);
/// the code is redeemed with the sign-in's PKCE verifier. The server signed in to. 429 while
/// another test or sign-in of the caller's runs.
#[utoipa::path(post, operation_id = "finish_mcp_oauth", path = "/api/v1/mcp-servers/oauth/callback", tag = "tools",
    request_body = OAuthCallback, security(("bearer" = [])),
    responses((status = 200, body = McpServer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Json(body): Json<OAuthCallback>,
) -> ApiResult<Json<McpServer>> {
    for (field, value) in [("state", &body.state), ("code", &body.code)] {
        if value.is_empty() || value.len() > MAX_PARAM_CHARS {
            return Err(ApiError::invalid_field(field, format!("must be 1–{MAX_PARAM_CHARS} characters")));
        }
    }
    let tools = state.generations.tools();
    // Each may make a request to another server: one at a time per user.
    let Some(_busy) = tools.begin_test(&claims.sub) else {
        return Err(ApiError::too_many_requests_with(
            1,
            "A connection test or sign-in of yours is already under way: wait for it to end",
        ));
    };
    let finished = tools.sign_ins.finish(&claims.sub, &claims.roles, &body.state, &body.code).await;
    let server_id = finished.map_err(|e| refused(None, e))?;
    let server = visible(&state, &claims, &server_id).await?;
    // The next request opens a session with the new token; a failure remembered is forgotten.
    tools.mcp.forget_user(&server.id, &claims.sub);
    Ok(Json(to_wire(&server, &claims, &mine(&state, &claims).await?)))
}

/// Forgets the caller's sign-in to a server (their tokens; the server's own session ends when
/// they expire). 404 when there was none.
#[utoipa::path(delete, operation_id = "delete_mcp_oauth", path = "/api/v1/mcp-servers/{id}/oauth", tag = "tools",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let server = visible(&state, &claims, &id).await?;
    let tools = state.generations.tools();
    let removed =
        tools.sign_ins.sign_out(&server.id, &claims.sub).await.map_err(|e| refused(Some(&server.name), e))?;
    tools.mcp.forget_user(&server.id, &claims.sub);
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("You have not signed in to this server"))
    }
}
