//! Bearer authentication against the auth server's published keys.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use common::http::ApiError;
use common::token::AccessClaims;

use crate::state::AppState;

/// The caller, from `Authorization: Bearer <access token>`.
pub struct AuthUser(pub AccessClaims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| ApiError::unauthorized("Not authenticated", false))?;
        authenticate(state, token).await.map(AuthUser)
    }
}

/// The caller's access token as sent, beside [`AuthUser`] (which verifies it), for what is
/// done on their behalf later: exchanged for an MCP server's token, never passed on.
pub struct BearerToken(pub String);

impl FromRequestParts<AppState> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| ApiError::unauthorized("Not authenticated", false))?;
        Ok(Self(token.to_owned()))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map(|(_, token)| token.trim())
}

/// Verifies a token (from a header, a query string or a WebSocket frame) and checks it against
/// the auth server's revocation feed.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AccessClaims, ApiError> {
    let claims = verify(state, token).await?;
    // Fail closed: without a recent read of the feed, a logged-out, disabled or deleted
    // user's token cannot be told from a good one.
    let stale = state.revocations.staleness();
    if stale.as_secs() > state.config.revocations_max_stale_secs {
        return Err(ApiError::service_busy(
            2,
            format!(
                "Cannot check sign-ins right now: the auth server's revocation list has not been reachable for {} seconds; try again shortly",
                stale.as_secs()
            ),
        ));
    }
    if state.revocations.is_revoked(&claims) {
        return Err(ApiError::unauthorized(
            "Could not validate credentials: the token has been revoked",
            true,
        ));
    }
    if !claims.scope.split_whitespace().any(|s| s == CHAT_SCOPE) {
        // RFC 6750 §3.1: a valid token without the scope the resource needs.
        return Err(ApiError::oauth(
            axum::http::StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The token was not issued for the chat service: log in with the `chat` scope",
        )
        .with_www_authenticate(format!("Bearer error=\"insufficient_scope\", scope=\"{CHAT_SCOPE}\"")));
    }
    Ok(claims)
}

/// The scope an access token must carry to be used here.
pub const CHAT_SCOPE: &str = "chat";

async fn verify(state: &AppState, token: &str) -> Result<AccessClaims, ApiError> {
    state.tokens.verify(token).await.map_err(|e| {
        let message = e.to_string();
        let mut chars = message.chars();
        let lowered: String =
            chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default();
        ApiError::unauthorized(format!("Could not validate credentials: {lowered}"), true)
    })
}
