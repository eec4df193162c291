//! The refresh-token grant (RFC 6749 §6) with rotation: every use returns a new refresh token,
//! and presenting a used one ends the whole session (RFC 9700 §4.14.2).

use std::net::IpAddr;

use api_types::auth::TokenResponse;
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult};

use super::{TokenRequest, required};
use crate::state::AppState;
use crate::store::RefreshOutcome;
use crate::tokens;

fn invalid_grant(description: &str) -> ApiError {
    ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub async fn grant(state: &AppState, ip: IpAddr, request: &TokenRequest) -> ApiResult<TokenResponse> {
    let presented = required(&request.refresh_token, "refresh_token")?;
    let ip_key = crate::limits::address_key(ip);
    if let Some(wait) = state.login_limits.client_wait(ip_key).await {
        return Err(ApiError::too_many_requests(crate::limits::retry_after_secs(wait)));
    }
    // A client that names itself must be the one the token was issued to. This is checked
    // before rotating, so a wrong client cannot use up (and so destroy) someone's session.
    let presented_hash = tokens::hash_refresh_token(presented);
    if let Some(explicit) = request.client_id.as_deref().filter(|c| !c.trim().is_empty()) {
        let session =
            state.db.session_of_refresh_token(&presented_hash).await.map_err(crate::accounts::store_error)?;
        if session.is_some_and(|s| s.client_id != explicit.trim()) {
            return Err(invalid_grant("The refresh token was issued to another client"));
        }
    }
    let now = common::clock::now();
    let (new_token, new_hash) = tokens::new_refresh_token();
    let outcome = state
        .db
        .rotate_refresh_token(
            &presented_hash,
            &new_hash,
            now,
            now + state.config.refresh_idle_ttl_secs as i64,
        )
        .await
        .map_err(crate::accounts::store_error)?;
    let session = match outcome {
        RefreshOutcome::Rotated(session) => session,
        RefreshOutcome::Reused { session_id, user_id } => {
            state.principals.invalidate_user(&user_id);
            let username = state.db.user_by_id(&user_id).await.ok().flatten().map(|u| u.username);
            state
                .audit(
                    "refresh_token_reuse",
                    username.as_deref(),
                    Some(ip),
                    Some(format!("session {session_id} revoked")),
                )
                .await;
            return Err(invalid_grant("The refresh token was already used; the session has been ended"));
        }
        RefreshOutcome::Invalid => {
            state.login_limits.client_failed(ip_key).await;
            return Err(invalid_grant("The refresh token is invalid or expired"));
        }
    };
    let user = state.db.user_by_id(&session.user_id).await.map_err(crate::accounts::store_error)?;
    let Some(user) = user.filter(|u| u.is_active) else {
        state.db.revoke_session(&session.id, now).await.map_err(crate::accounts::store_error)?;
        return Err(invalid_grant("The refresh token is invalid or expired"));
    };
    let scope = tokens::resolve_scope(request.scope.as_deref(), Some(&session.scope))?;
    Ok(TokenResponse {
        access_token: tokens::access_token(state, &user, &session.id, &session.client_id, &scope)?,
        token_type: "bearer".into(),
        expires_in: state.config.access_token_ttl_secs,
        refresh_token: new_token,
        scope,
    })
}
