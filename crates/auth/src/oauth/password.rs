//! The resource owner password credentials grant (RFC 6749 §4.3), which the seed's clients use.

use std::net::IpAddr;

use api_types::auth::TokenResponse;
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult};

use super::{TokenRequest, required};
use crate::domain::{Password, Username};
use crate::limits::{self, retry_after_secs};
use crate::passwords::Verdict;
use crate::state::AppState;
use crate::store::UserUpdate;
use crate::tokens;

/// The one answer to every failed login: byte-identical for an unknown user, a wrong
/// password, an empty password and a disabled account.
fn bad_credentials() -> ApiError {
    ApiError::oauth(StatusCode::UNAUTHORIZED, "invalid_grant", "Incorrect username or password")
        .with_www_authenticate("Bearer")
}

pub async fn grant(
    state: &AppState,
    ip: IpAddr,
    request: &TokenRequest,
    client_id: &str,
) -> ApiResult<TokenResponse> {
    let raw_username = required(&request.username, "username")?;
    let password = required(&request.password, "password")?;
    let scope = tokens::resolve_scope(request.scope.as_deref(), None)?;
    // Limits are keyed by the canonical name, so `Admin` and `admin` share one counter, and
    // they apply to names that do not exist too (no hint about which accounts exist). An
    // attempt is counted as a failure *before* the password is checked (check and count in
    // one step) and forgiven on success, so a burst of parallel guesses cannot all slip past
    // the limits while the hashes are being computed. Throttled requests are not audited one
    // by one (a flood must not fill the disk); the failures that led to them are.
    let ip_key = limits::address_key(ip);
    let account_key: String = raw_username.trim().to_lowercase().chars().take(64).collect();
    if let Some(wait) = state.ip_failures.try_attempt(&ip_key) {
        return Err(ApiError::too_many_requests(retry_after_secs(wait)));
    }
    if let Some(wait) = state.account_failures.try_attempt(&account_key) {
        state.ip_failures.forgive(&ip_key);
        return Err(ApiError::too_many_requests(retry_after_secs(wait)));
    }

    let username = Username::parse(raw_username).ok();
    let user = match &username {
        Some(name) => state.db.user_by_username(name.as_str()).await.map_err(ApiError::unavailable)?,
        None => None,
    };
    // Over-long passwords are refused without hashing them (bounded work per request); the
    // bound does not depend on the account, so it reveals nothing.
    let verdict = if password.is_empty() || password.chars().count() > Password::MAX_CHARS {
        Verdict::Wrong
    } else {
        state.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await
    };
    let user = match (verdict, user) {
        (Verdict::Correct { rehash }, Some(user)) if user.is_active => {
            if rehash {
                let update = UserUpdate {
                    password_hash: Some(state.hasher.hash(password).await),
                    ..Default::default()
                };
                if let Err(error) = state.db.update_user(&user.id, update, common::clock::now()).await {
                    tracing::warn!(%error, "cannot store a re-hashed password");
                }
            }
            user
        }
        (verdict, user) => {
            let detail = match (&verdict, &user) {
                (Verdict::Correct { .. }, Some(_)) => "account disabled",
                (_, Some(_)) => "wrong password",
                _ => "unknown user",
            };
            // What was typed as the name of an unknown user is not recorded: people type
            // their password there by mistake.
            let name = user.as_ref().map(|u| u.username.as_str());
            state.audit("login_failed", name, Some(ip), Some(detail.into())).await;
            return Err(bad_credentials());
        }
    };
    state.ip_failures.forgive(&ip_key);
    state.account_failures.reset(&account_key);
    let response = tokens::start_session(state, &user, client_id, &scope).await?;
    state.audit("login_succeeded", Some(&user.username), Some(ip), Some(format!("client {client_id}"))).await;
    Ok(response)
}
