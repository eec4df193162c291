//! Token revocation (RFC 7009) and logout.

use api_types::auth::Message;
use api_types::error::ErrorBody;
use axum::extract::State;
use common::http::{ApiResult, Form, Json};
use serde::Deserialize;

use crate::http::extract::{AuthUser, ClientIp};
use crate::principal::verify_claims;
use crate::state::AppState;
use crate::tokens::hash_refresh_token;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    token: Option<String>,
    /// `refresh_token` or `access_token`; only a hint (RFC 7009 §2.1).
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// Revoke a refresh token (ending its whole session) or an access token (ending its session).
/// Always 200, also for unknown tokens, so nothing can be learned from the answer.
#[utoipa::path(post, path = "/auth/revoke", tag = "oauth",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked, or nothing to revoke"), (status = 400, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Form(request): Form<RevokeRequest>,
) -> ApiResult<()> {
    let Some(token) = request.token.filter(|t| !t.is_empty() && t.len() <= 4096) else {
        return Ok(());
    };
    let session = if token.matches('.').count() == 2 {
        // An access token: its own signature proves it is ours; expiry does not matter here.
        verify_claims(&state, &token).await.ok().map(|c| (c.sid, c.sub))
    } else {
        state
            .db
            .session_of_refresh_token(&hash_refresh_token(&token))
            .await
            .map_err(crate::accounts::store_error)?
            .map(|s| (s.id, s.user_id))
    };
    if let Some((session_id, user_id)) = session {
        end_session(&state, &session_id, &user_id, "token_revoked", ip).await?;
    }
    Ok(())
}

/// End the caller's session: its refresh token stops working, and so does this access token.
#[utoipa::path(post, path = "/auth/logout", tag = "oauth", security(("bearer" = [])),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    ClientIp(ip): ClientIp,
) -> ApiResult<Json<Message>> {
    end_session(&state, &p.claims.sid, &p.user.id, "logout", ip).await?;
    Ok(Json(Message { message: "Logged out successfully".into() }))
}

async fn end_session(
    state: &AppState,
    session_id: &str,
    user_id: &str,
    event: &str,
    ip: std::net::IpAddr,
) -> ApiResult<()> {
    let now = common::clock::now();
    let ended = state.db.revoke_session(session_id, now).await.map_err(crate::accounts::store_error)?;
    state.principals.invalidate_user(user_id);
    if ended {
        let username = state.db.user_by_id(user_id).await.ok().flatten().map(|u| u.username);
        state.audit(event, username.as_deref(), Some(ip), Some(format!("session {session_id}"))).await;
    }
    Ok(())
}
