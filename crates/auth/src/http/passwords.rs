//! Password changes that prove who is at the keyboard. Whoever changes a password — users
//! their own, administrators anyone's — types their *own* current password, which is checked
//! and throttled exactly like a login (same counters), so these routes cannot be used to
//! guess passwords. The seed's `PUT /users/{username}` with `password` still works, but only
//! within [`RECENT_LOGIN_SECS`] of the caller's login (see [`ensure_recent_login`]).

use api_types::auth::{ChangePassword, Message};
use api_types::error::{ErrorBody, FieldError};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use common::http::{ApiError, ApiResult, Json};

use super::extract::{AuthUser, ClientIp};
use super::users::{find_user, is_admin, user_not_found};
use crate::credentials::check_password;
use crate::domain::Password;
use crate::passwords::Verdict;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{UserRecord, UserUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me/password", post(change_own))
        .route("/users/{username}/password", post(change_any))
}

/// How long after typing the password a session may change a password without typing it again.
pub const RECENT_LOGIN_SECS: i64 = 5 * 60;

const WRONG_CURRENT: &str = "Your current password is incorrect";

/// Change the caller's own password. The caller's session goes on (its access token is
/// refreshed with its refresh token as usual); every other session of the user ends.
#[utoipa::path(post, path = "/users/me/password", tag = "users", request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Message, description = "Changed; the user's other sessions have ended"),
        (status = 401, body = ErrorBody, description = "No valid access token"),
        (status = 403, body = ErrorBody, description = "`current_password` is not the caller's password"),
        (status = 422, body = ErrorBody, description = "A missing field, or a new password that breaks the rules"),
        (status = 429, body = ErrorBody, description = "Too many wrong passwords for this account or address; see `Retry-After`")))]
pub async fn change_own(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    ClientIp(ip): ClientIp,
    Json(input): Json<ChangePassword>,
) -> ApiResult<Json<Message>> {
    change(&state, &p, ip, None, input).await
}

/// Set a user's password: the user themself, or an administrator (a reset). `current_password`
/// is always the *caller's* password. An administrator's reset ends every session of the user.
#[utoipa::path(post, path = "/users/{username}/password", tag = "users", request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Message, description = "Changed; the user's sessions (other than the caller's) have ended"),
        (status = 401, body = ErrorBody, description = "No valid access token"),
        (status = 403, body = ErrorBody, description = "Not the user nor an administrator, or `current_password` is not the caller's password"),
        (status = 404, body = ErrorBody, description = "No such user (administrators only)"),
        (status = 422, body = ErrorBody, description = "A missing field, or a new password that breaks the rules"),
        (status = 429, body = ErrorBody, description = "Too many wrong passwords for the caller's account or address; see `Retry-After`")))]
pub async fn change_any(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    ClientIp(ip): ClientIp,
    Path(username): Path<String>,
    Json(input): Json<ChangePassword>,
) -> ApiResult<Json<Message>> {
    change(&state, &p, ip, Some(&username), input).await
}

async fn change(
    state: &AppState,
    p: &Principal,
    ip: std::net::IpAddr,
    username: Option<&str>,
    input: ChangePassword,
) -> ApiResult<Json<Message>> {
    let is_self = username.is_none_or(|u| p.user.username.eq_ignore_ascii_case(u));
    if !is_self && !is_admin(p) {
        return Err(ApiError::forbidden(
            "Not enough permissions: administrator role required to set another user's password",
        ));
    }
    // Rules first: a typo in the new password costs no attempt.
    let mut errors = Vec::new();
    if input.current_password.is_empty() {
        errors.push(FieldError { field: "current_password".into(), message: "is required".into() });
    }
    let new_password = Password::parse(&input.new_password)
        .map_err(|m| errors.push(FieldError { field: "new_password".into(), message: m.into() }))
        .ok();
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let target = match username.filter(|_| !is_self) {
        Some(name) => find_user(state, name).await?,
        None => (*p.user).clone(),
    };
    // The caller as stored now (another process may have changed the password a moment ago).
    let caller = state
        .db
        .user_by_id(&p.user.id)
        .await
        .map_err(crate::accounts::store_error)?
        .ok_or_else(user_not_found)?;
    let verdict = check_password(
        state,
        ip,
        &caller.username,
        Some(caller.password_hash.as_str()),
        &input.current_password,
    )
    .await?;
    let whom = if is_self { String::new() } else { format!(" for {}", target.username) };
    if verdict == Verdict::Wrong {
        let detail = format!("wrong current password{whom}");
        state.audit("password_change_failed", Some(&caller.username), Some(ip), Some(detail)).await;
        return Err(ApiError::forbidden(WRONG_CURRENT));
    }
    if is_self && input.new_password == input.current_password {
        return Err(ApiError::invalid_field("new_password", "must differ from the current password"));
    }
    crate::credentials::count_password_change(state, ip).await?;
    let hash = state.hasher.hash(new_password.expose()).await?;
    set_password(state, &target, hash, is_self.then_some(p.claims.sid.as_str())).await?;
    let by = Some(format!("by {}", caller.username));
    if is_self {
        state.audit("password_changed", Some(&target.username), Some(ip), by).await;
        Ok(Json(Message { message: "Password changed; your other sessions have been logged out".into() }))
    } else {
        state.audit("password_reset_by_admin", Some(&target.username), Some(ip), by).await;
        Ok(Json(Message {
            message: format!(
                "Password reset for user {}; their sessions have been logged out",
                target.username
            ),
        }))
    }
}

/// Stores a new password hash and ends the user's sessions, all but `keep` (the caller's own
/// when changing their own password). Tokens issued before now stop working at once.
pub async fn set_password(
    state: &AppState,
    target: &UserRecord,
    password_hash: String,
    keep: Option<&str>,
) -> ApiResult<()> {
    let now = common::clock::now();
    let update = UserUpdate {
        password_hash: Some(password_hash),
        revoke_tokens_at: Some(now + 1),
        ..Default::default()
    };
    state
        .db
        .update_user(&target.id, update, now)
        .await
        .map_err(crate::accounts::store_error)?
        .ok_or_else(user_not_found)?;
    state.db.revoke_user_sessions(&target.id, keep, now).await.map_err(crate::accounts::store_error)?;
    state.principals.invalidate_user(&target.id);
    Ok(())
}

/// For the seed-compatible `PUT /users/{username}` with `password`: allowed only when the
/// caller's session began (the password was typed) within [`RECENT_LOGIN_SECS`]. The session's
/// start is used rather than the access token's `iat`, because refreshing renews `iat` every
/// few minutes without anyone typing anything.
pub async fn ensure_recent_login(state: &AppState, p: &Principal) -> ApiResult<()> {
    let session = state.db.session(&p.claims.sid).await.map_err(crate::accounts::store_error)?;
    let recent = session.is_some_and(|s| common::clock::now() - s.created_at <= RECENT_LOGIN_SECS);
    if recent {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "Changing a password needs a login from the last 5 minutes: log in again and retry, or use \
         POST /users/me/password (POST /users/{username}/password for an administrator) with your current password",
    ))
}
