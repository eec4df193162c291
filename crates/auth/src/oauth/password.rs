//! The resource owner password credentials grant (RFC 6749 §4.3), which the seed's clients use.
//! The `username` field takes a username or the account's email address.

use std::net::IpAddr;

use api_types::auth::TokenResponse;
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult};

use super::{TokenRequest, required};
use crate::credentials::{check_password, typed_account_key};
use crate::domain::{Email, Username};
use crate::passwords::Verdict;
use crate::state::AppState;
use crate::store::{UserRecord, UserUpdate};
use crate::tokens;

/// The one answer to every failed login: byte-identical for an unknown user or email, a wrong
/// password and an empty password.
fn bad_credentials() -> ApiError {
    ApiError::oauth(StatusCode::UNAUTHORIZED, "invalid_grant", "Incorrect username or password")
        .with_www_authenticate("Bearer")
}

/// A disabled account's answer. Only given once the password has been verified, so it tells
/// nothing to someone who does not know the password.
pub const ACCOUNT_DISABLED: &str = "This account is disabled; ask an administrator to enable it";

fn account_disabled() -> ApiError {
    ApiError::oauth(StatusCode::FORBIDDEN, "invalid_grant", ACCOUNT_DISABLED)
}

/// The account a login names: by email when the text has an `@` (no username can), else by
/// username. Text that could never name an account finds none (and is still hashed against).
async fn find_account(state: &AppState, typed: &str) -> ApiResult<Option<UserRecord>> {
    let found = if typed.contains('@') {
        match Email::parse(typed) {
            Ok(email) => state.db.user_by_email(email.as_str()).await,
            Err(_) => Ok(None),
        }
    } else {
        match Username::parse(typed) {
            Ok(name) => state.db.user_by_username(name.as_str()).await,
            Err(_) => Ok(None),
        }
    };
    found.map_err(crate::accounts::store_error)
}

pub async fn grant(
    state: &AppState,
    ip: IpAddr,
    request: &TokenRequest,
    client_id: &str,
) -> ApiResult<TokenResponse> {
    let typed = required(&request.username, "username")?;
    let password = required(&request.password, "password")?;
    let scope = tokens::resolve_scope(request.scope.as_deref(), None)?;
    let user = find_account(state, typed).await?;
    // Limits are keyed by the account, so its username and its email share one counter (and
    // `Admin` and `admin` too); names that match no account are limited as typed, so the
    // limits give no hint about which accounts exist. Throttled requests are not audited one
    // by one (a flood must not fill the disk); the failures that led to them are.
    let account_key = user.as_ref().map_or_else(|| typed_account_key(typed), |u| u.username.clone());
    let stored_hash = user.as_ref().map(|u| u.password_hash.as_str());
    let verdict = check_password(state, ip, &account_key, stored_hash, password).await?;
    let user = match (verdict, user) {
        (Verdict::Correct { rehash }, Some(user)) if user.is_active => {
            // A busy hasher skips the re-hash: the next login does it.
            if let (true, Ok(hash)) = (rehash, state.hasher.hash(password).await) {
                let update = UserUpdate { password_hash: Some(hash), ..Default::default() };
                if let Err(error) = state.db.update_user(&user.id, update, common::clock::now()).await {
                    tracing::warn!(%error, "cannot store a re-hashed password");
                }
            }
            user
        }
        (Verdict::Correct { .. }, Some(user)) => {
            state
                .audit("login_failed", Some(&user.username), Some(ip), Some("account disabled".into()))
                .await;
            return Err(account_disabled());
        }
        (_, user) => {
            let detail = if user.is_some() { "wrong password" } else { "unknown user" };
            // What was typed as the name of an unknown user is not recorded: people type
            // their password there by mistake.
            let name = user.as_ref().map(|u| u.username.as_str());
            state.audit("login_failed", name, Some(ip), Some(detail.into())).await;
            return Err(bad_credentials());
        }
    };
    let response = tokens::start_session(state, &user, client_id, &scope).await?;
    state.audit("login_succeeded", Some(&user.username), Some(ip), Some(format!("client {client_id}"))).await;
    Ok(response)
}
