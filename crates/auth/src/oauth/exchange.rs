//! Token exchange (RFC 8693) for the chat service: a token for one MCP server, on behalf of the
//! user whose access token the chat service was given. The new token's audience is the server's
//! URL (the RFC 8707 `resource`), its scope `mcp`, its life five minutes: the MCP server learns
//! who the user is, and can use the token nowhere else (the chat service, this server and every
//! other MCP server refuse it for its audience). The user's own token never leaves us.

use api_types::auth::ExchangedToken;
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult};
use sha2::Digest as _;

use super::{TokenRequest, required};
use crate::state::AppState;

/// The grant type (RFC 8693 §2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only token type exchanged and issued.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The client id the chat service exchanges under.
pub const CHAT_CLIENT_ID: &str = "openchat-chat";
/// The scope of an MCP server's token.
pub const MCP_SCOPE: &str = "mcp";
/// Life of an MCP server's token.
pub const MCP_TOKEN_TTL_SECS: u64 = 300;
/// A reply can outlast the token it was asked with: a subject token may have expired this long
/// ago, as long as its session is still live and its user still enabled.
const SUBJECT_GRACE_SECS: u64 = 3600;
/// Longest `resource` URL.
const MAX_RESOURCE_CHARS: usize = 2048;

fn invalid(code: &str, description: &str) -> ApiError {
    ApiError::oauth(StatusCode::BAD_REQUEST, code, description)
}

pub async fn grant(state: &AppState, request: &TokenRequest) -> ApiResult<ExchangedToken> {
    // Only the chat service exchanges: it proves itself with the secret it shares with us.
    let secret = request.client_secret.as_deref().unwrap_or_default();
    let digest: [u8; 32] = sha2::Sha256::digest(secret.as_bytes()).into();
    if request.client_id.as_deref() != Some(CHAT_CLIENT_ID) || digest != state.revocations_secret_hash {
        return Err(ApiError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Only the chat service may exchange tokens: present its client_id and secret",
        ));
    }
    let subject = required(&request.subject_token, "subject_token")?;
    if request.subject_token_type.as_deref() != Some(ACCESS_TOKEN_TYPE) {
        return Err(invalid("invalid_request", "The subject_token_type must be an access token's"));
    }
    if request.requested_token_type.as_deref().is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
        return Err(invalid("invalid_request", "Only access tokens are issued"));
    }
    let resource = resource(required(&request.resource, "resource")?)?;
    if request.scope.as_deref().is_some_and(|s| s.trim() != MCP_SCOPE) {
        return Err(invalid("invalid_scope", "An MCP server's token has the scope 'mcp' alone"));
    }

    let subject_refused = || invalid("invalid_grant", "The subject token is invalid, expired or revoked");
    let claims =
        state.keys.verify_expired_within(subject, SUBJECT_GRACE_SECS).map_err(|_| subject_refused())?;
    if !claims.scope.split_whitespace().any(|s| s == "chat") {
        return Err(subject_refused());
    }
    let now = common::clock::now();
    let session = state.db.session(&claims.sid).await.map_err(crate::accounts::store_error)?;
    if !session.is_some_and(|s| !s.revoked && s.expires_at > now && s.user_id == claims.sub) {
        return Err(subject_refused());
    }
    let user = state.db.user_by_id(&claims.sub).await.map_err(crate::accounts::store_error)?;
    let Some(user) = user.filter(|u| u.is_active && claims.iat >= u.tokens_valid_after) else {
        return Err(subject_refused());
    };

    let iat = now.max(user.tokens_valid_after);
    let minted = common::token::AccessClaims {
        iss: state.config.issuer.clone(),
        sub: user.id.clone(),
        aud: resource,
        exp: iat + MCP_TOKEN_TTL_SECS as i64,
        iat,
        jti: common::ids::random_id(22),
        client_id: CHAT_CLIENT_ID.to_owned(),
        scope: MCP_SCOPE.to_owned(),
        roles: user.roles.names(),
        preferred_username: user.username.clone(),
        sid: claims.sid,
    };
    Ok(ExchangedToken {
        access_token: state.keys.sign(&minted).map_err(ApiError::internal)?,
        issued_token_type: ACCESS_TOKEN_TYPE.to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: MCP_TOKEN_TTL_SECS,
        scope: MCP_SCOPE.to_owned(),
    })
}

/// The audience asked for: an absolute `http(s)` URL without a fragment (RFC 8707 §2), kept as
/// given so the server compares it with its own.
fn resource(raw: &str) -> ApiResult<String> {
    let bad =
        || invalid("invalid_target", "The resource must be an absolute http or https URL without a fragment");
    if raw.chars().count() > MAX_RESOURCE_CHARS || raw.chars().any(char::is_control) {
        return Err(bad());
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.fragment().is_some() {
        return Err(bad());
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::resource;

    #[test]
    fn resources_are_absolute_web_urls_without_fragments() {
        assert!(resource("https://tools.example.com/mcp").is_ok());
        assert!(resource("http://127.0.0.1:8931/mcp?x=1").is_ok());
        for bad in ["/mcp", "ftp://h/mcp", "https://h/mcp#f", "mailto:a@b", "https://h/\n", ""] {
            assert!(resource(bad).is_err(), "{bad:?}");
        }
        assert!(resource(&format!("https://h/{}", "a".repeat(2100))).is_err());
    }
}
