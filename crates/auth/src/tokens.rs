//! Issuing tokens: RFC 9068 access tokens and opaque, hashed, rotating refresh tokens.

use api_types::auth::TokenResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::http::ApiError;
use common::token::AccessClaims;
use sha2::{Digest, Sha256};

use crate::state::AppState;
use crate::store::UserRecord;

/// Scopes this server grants.
pub const SUPPORTED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access", "chat"];
/// Granted when the client asks for none.
pub const DEFAULT_SCOPE: &str = "openid profile chat";
/// The client id recorded when a (public) client sends none.
pub const DEFAULT_CLIENT_ID: &str = "openchat";

/// A new opaque refresh token (256 bits) and the hash that is stored in its place.
pub fn new_refresh_token() -> (String, String) {
    let token = URL_SAFE_NO_PAD.encode(common::ids::random_bytes::<32>());
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// SHA-256 is enough here: the token has 256 bits of entropy, so there is nothing to brute-force.
pub fn hash_refresh_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Checks requested scopes: each must be supported and, when `within` is given, already granted.
pub fn resolve_scope(requested: Option<&str>, within: Option<&str>) -> Result<String, ApiError> {
    let requested: Vec<&str> = requested.unwrap_or_default().split_whitespace().collect();
    if requested.is_empty() {
        return Ok(within.unwrap_or(DEFAULT_SCOPE).to_owned());
    }
    let allowed: Vec<&str> =
        within.map_or_else(|| SUPPORTED_SCOPES.to_vec(), |w| w.split_whitespace().collect());
    if let Some(bad) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(ApiError::oauth(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("The scope '{}' is not available", bad.chars().take(64).collect::<String>()),
        ));
    }
    let mut scopes: Vec<&str> = Vec::new();
    for s in requested {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    Ok(scopes.join(" "))
}

/// Signs an access token for `user` in session `session_id`.
pub fn access_token(
    state: &AppState,
    user: &UserRecord,
    session_id: &str,
    client_id: &str,
    scope: &str,
) -> Result<String, ApiError> {
    // A token must never predate its user's cut-off, or it would be born revoked.
    let iat = common::clock::now().max(user.tokens_valid_after);
    let claims = AccessClaims {
        iss: state.config.issuer.clone(),
        sub: user.id.clone(),
        aud: state.config.audience.clone(),
        exp: iat + state.config.access_token_ttl_secs as i64,
        iat,
        jti: common::ids::random_id(22),
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        roles: user.roles.names(),
        preferred_username: user.username.clone(),
        sid: session_id.to_owned(),
    };
    state.keys.sign(&claims).map_err(ApiError::internal)
}

/// Starts a session: a refresh-token family and its first access token.
pub async fn start_session(
    state: &AppState,
    user: &UserRecord,
    client_id: &str,
    scope: &str,
) -> Result<TokenResponse, ApiError> {
    let now = common::clock::now();
    let session_id = common::ids::random_id(22);
    let (refresh_token, refresh_hash) = new_refresh_token();
    let config = &state.config;
    state
        .db
        .create_session(
            &session_id,
            &user.id,
            client_id,
            scope,
            &refresh_hash,
            now,
            now + config.refresh_idle_ttl_secs as i64,
            now + config.refresh_absolute_ttl_secs as i64,
        )
        .await
        .map_err(crate::accounts::store_error)?;
    Ok(TokenResponse {
        access_token: access_token(state, user, &session_id, client_id, scope)?,
        token_type: "bearer".into(),
        expires_in: config.access_token_ttl_secs,
        refresh_token,
        scope: scope.to_owned(),
    })
}
