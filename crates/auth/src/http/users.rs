//! Users and roles: the seed's routes, with the permissions of api.md.

use api_types::auth::{CreateUser, Message, SetRoles, UpdateUser, User, UserList, UserMessage};
use api_types::error::{ErrorBody, FieldError};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use common::http::{ApiError, ApiResult, Json, Query};
use serde::Deserialize;

use super::extract::{AuthUser, ClientIp, MaybeAuthUser};
use crate::accounts::{self, printable, to_wire};
use crate::domain::{Email, Password, Role, RoleSet, Username, parse_full_name};
use crate::limits::retry_after_secs;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{UserRecord, UserUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/", post(register).get(list_users))
        .route("/users/me", get(me))
        .route("/auth/me", get(me))
        .route("/users/{username}", get(get_user).put(update_user).delete(delete_user))
        .route("/roles/{username}", put(set_roles))
}

const ADMIN_REQUIRED: &str = "Not enough permissions: administrator role required";

pub(super) fn is_admin(p: &Principal) -> bool {
    p.user.roles.contains(Role::Admin)
}

fn is_manager(p: &Principal) -> bool {
    p.user.roles.contains(Role::Manager)
}

/// Register a user. Anyone may register (unless registration is closed); only an
/// administrator may give roles other than `user`.
#[utoipa::path(post, path = "/users/", tag = "users", request_body = CreateUser,
    responses((status = 200, body = UserMessage), (status = 400, body = ErrorBody, description = "Username or email already registered"),
              (status = 401, body = ErrorBody, description = "A bearer token was sent and is not valid (none is needed to register)"),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ClientIp(ip): ClientIp,
    Json(input): Json<CreateUser>,
) -> ApiResult<Json<UserMessage>> {
    let by_admin = caller.as_ref().is_some_and(is_admin);
    if !by_admin {
        if !state.config.open_registration {
            return Err(ApiError::forbidden(
                "Registration is closed; ask an administrator to create your account",
            ));
        }
        if let Some(wait) = state.ip_registrations.try_attempt(&crate::limits::address_key(ip)) {
            return Err(ApiError::too_many_requests(retry_after_secs(wait)));
        }
    }
    let valid = accounts::validate_new_user(&input)?;
    if !by_admin && valid.roles.as_ref().is_some_and(|r| !r.is_only_user()) {
        state.audit("role_in_registration_refused", Some(valid.username.as_str()), Some(ip), None).await;
        return Err(ApiError::forbidden("Only an administrator can assign roles"));
    }
    let user = accounts::create_user(&state.db, &state.hasher, valid).await?;
    let actor = caller.as_ref().map(|p| p.user.username.as_str());
    let event = if by_admin { "user_created_by_admin" } else { "user_registered" };
    state.audit(event, Some(&user.username), Some(ip), actor.map(|a| format!("by {a}"))).await;
    Ok(Json(UserMessage { message: "User created successfully".into(), user: to_wire(&user) }))
}

/// The caller's own account.
#[utoipa::path(get, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(AuthUser(p): AuthUser) -> Json<User> {
    Json(to_wire(&p.user))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    offset: Option<i64>,
    /// Matches username, email or full name.
    #[param(schema_with = api_types::rules::schema::user_query)]
    q: Option<String>,
}

/// List users (administrators; managers read-only).
#[utoipa::path(get, path = "/users/", tag = "users", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<UserList>> {
    if !is_admin(&p) && !is_manager(&p) {
        return Err(ApiError::forbidden(ADMIN_REQUIRED));
    }
    let limit = params.limit.unwrap_or(50);
    let offset = params.offset.unwrap_or(0);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be between 1 and 200"));
    }
    if offset < 0 {
        return Err(ApiError::invalid_field("offset", "must not be negative"));
    }
    if params.q.as_deref().is_some_and(|q| q.chars().count() > 128 || q.contains('\0')) {
        return Err(ApiError::invalid_field("q", "must be at most 128 characters without NUL"));
    }
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let page = state.db.list_users(q, limit, offset).await.map_err(crate::accounts::store_error)?;
    Ok(Json(UserList { users: page.users.iter().map(to_wire).collect(), total: page.total }))
}

/// One user (self, administrators, managers).
#[utoipa::path(get, path = "/users/{username}", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    Path(username): Path<String>,
) -> ApiResult<Json<User>> {
    let is_self = p.user.username.eq_ignore_ascii_case(&username);
    if !is_self && !is_admin(&p) && !is_manager(&p) {
        return Err(ApiError::forbidden(
            "Not enough permissions: only the user, a manager or an administrator may read this account",
        ));
    }
    let user = find_user(&state, &username).await?;
    Ok(Json(to_wire(&user)))
}

/// Update an account (self, administrators). `is_active` is for administrators only. A
/// `password` here (the seed's way) is accepted only within five minutes of the caller's
/// login, else 403: use `POST /users/me/password` with the current password instead. A
/// password change ends the user's other sessions.
#[utoipa::path(put, path = "/users/{username}", tag = "users", request_body = UpdateUser, security(("bearer" = [])),
    responses((status = 200, body = UserMessage),
              (status = 400, body = ErrorBody, description = "Email already registered"),
              (status = 409, body = ErrorBody, description = "The last active administrator cannot be disabled"),
              (status = 403, body = ErrorBody, description = "Not allowed, or a password change without a login in the last 5 minutes"),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    ClientIp(ip): ClientIp,
    Path(username): Path<String>,
    Json(input): Json<UpdateUser>,
) -> ApiResult<Json<UserMessage>> {
    let is_self = p.user.username.eq_ignore_ascii_case(&username);
    if !is_self && !is_admin(&p) {
        return Err(ApiError::forbidden(
            "Not enough permissions: administrator role required to change another user",
        ));
    }
    if input.is_active.is_some() && !is_admin(&p) {
        return Err(ApiError::forbidden("Only an administrator can change is_active"));
    }
    if input.password.is_some() {
        super::passwords::ensure_recent_login(&state, &p).await?;
    }
    let target = find_user(&state, &username).await?;
    let mut errors = Vec::new();
    let mut field =
        |name: &str, message: &str| errors.push(FieldError { field: name.into(), message: message.into() });
    let email = input
        .email
        .as_deref()
        .map(Email::parse_exact)
        .transpose()
        .map_err(|m| field("email", m))
        .ok()
        .flatten();
    let full_name = input
        .full_name
        .as_deref()
        .map(parse_full_name)
        .transpose()
        .map_err(|m| field("full_name", m))
        .ok()
        .flatten()
        .flatten();
    let password = input
        .password
        .as_deref()
        .map(Password::parse)
        .transpose()
        .map_err(|m| field("password", m))
        .ok()
        .flatten();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let disabling = input.is_active == Some(false) && target.is_active;
    if disabling && target.roles.contains(Role::Admin) {
        ensure_not_last_admin(&state).await?;
    }
    if password.is_some() {
        crate::credentials::count_password_change(&state, ip).await?;
    }
    // "Email already registered" tells whether an address has an account, so these answers
    // are limited like failed logins: every email change is counted against the client before
    // it is tried (in one step, so parallel requests cannot all pass) and given back unless the
    // address was taken. A client that has had too many waits (429), and cannot walk a list of
    // addresses.
    let password_hash = match &password {
        Some(pw) => Some(state.hasher.hash(pw.expose()).await?),
        None => None,
    };
    let client = crate::limits::address_key(ip);
    let probing = email.is_some();
    if probing {
        state.login_limits.client_begin(client).await.map_err(crate::limits::Throttled::into_error)?;
    }
    let now = common::clock::now();
    let password_changed = password.is_some();
    let update = UserUpdate {
        email: email.map(|e| e.as_str().to_owned()),
        full_name: input.full_name.is_some().then_some(full_name),
        password_hash,
        is_active: input.is_active,
        roles: None,
        revoke_tokens_at: (password_changed || disabling).then_some(now + 1),
    };
    let updated = state.db.update_user(&target.id, update, now).await;
    if probing && !matches!(updated, Err(crate::store::StoreError::Conflict(_))) {
        state.login_limits.client_cancel(client).await;
    }
    let user = updated.map_err(accounts::store_error)?.ok_or_else(user_not_found)?;
    if password_changed || disabling {
        // The caller's own session survives its own password change (it refreshes into a
        // new access token); every other session ends.
        let keep = (is_self && !disabling).then_some(p.claims.sid.as_str());
        state.db.revoke_user_sessions(&user.id, keep, now).await.map_err(crate::accounts::store_error)?;
    }
    state.principals.invalidate_user(&user.id);
    let actor = Some(format!("by {}", p.user.username));
    if password_changed {
        state.audit("password_changed", Some(&user.username), Some(ip), actor.clone()).await;
    }
    if let Some(active) = input.is_active.filter(|a| *a != target.is_active) {
        let event = if active { "user_enabled" } else { "user_disabled" };
        state.audit(event, Some(&user.username), Some(ip), actor).await;
    }
    Ok(Json(UserMessage { message: "User updated successfully".into(), user: to_wire(&user) }))
}

/// Delete a user (administrators). Its tokens stop working at once.
#[utoipa::path(delete, path = "/users/{username}", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The last active administrator cannot be deleted")))]
pub async fn delete_user(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    ClientIp(ip): ClientIp,
    Path(username): Path<String>,
) -> ApiResult<Json<Message>> {
    if !is_admin(&p) {
        return Err(ApiError::forbidden(ADMIN_REQUIRED));
    }
    let target = find_user(&state, &username).await?;
    if target.roles.contains(Role::Admin) && target.is_active {
        ensure_not_last_admin(&state).await?;
    }
    state.db.delete_user(&target.id).await.map_err(accounts::store_error)?;
    state.principals.invalidate_user(&target.id);
    state
        .audit("user_deleted", Some(&target.username), Some(ip), Some(format!("by {}", p.user.username)))
        .await;
    Ok(Json(Message { message: "User deleted successfully".into() }))
}

/// Replace a user's roles (administrators). Existing tokens carrying the old roles stop working.
#[utoipa::path(put, path = "/roles/{username}", tag = "users", request_body = SetRoles, security(("bearer" = [])),
    responses((status = 200, body = Message), (status = 400, body = ErrorBody, description = "A role that does not exist"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The last active administrator cannot be demoted")))]
pub async fn set_roles(
    State(state): State<AppState>,
    AuthUser(p): AuthUser,
    ClientIp(ip): ClientIp,
    Path(username): Path<String>,
    Json(input): Json<SetRoles>,
) -> ApiResult<Json<Message>> {
    if !is_admin(&p) {
        return Err(ApiError::forbidden(ADMIN_REQUIRED));
    }
    let roles = RoleSet::parse(&input.roles)
        .map_err(|bad| ApiError::bad_request(format!("Role '{}' does not exist", printable(&bad))))?;
    let target = find_user(&state, &username).await?;
    if target.roles.contains(Role::Admin) && !roles.contains(Role::Admin) && target.is_active {
        ensure_not_last_admin(&state).await?;
    }
    let user = change_roles(&state, &target, roles).await?;
    let detail = format!("{} -> {} by {}", target.roles.to_db(), user.roles.to_db(), p.user.username);
    state.audit("roles_changed", Some(&user.username), Some(ip), Some(detail)).await;
    Ok(Json(Message { message: format!("Roles updated successfully for user {}", user.username) }))
}

/// Stores new roles and cuts off tokens that carry the old ones.
pub async fn change_roles(state: &AppState, target: &UserRecord, roles: RoleSet) -> ApiResult<UserRecord> {
    let now = common::clock::now();
    let changed = roles != target.roles;
    let update =
        UserUpdate { roles: Some(roles), revoke_tokens_at: changed.then_some(now + 1), ..Default::default() };
    let user = state
        .db
        .update_user(&target.id, update, now)
        .await
        .map_err(accounts::store_error)?
        .ok_or_else(user_not_found)?;
    state.principals.invalidate_user(&user.id);
    Ok(user)
}

pub(super) async fn find_user(state: &AppState, username: &str) -> ApiResult<UserRecord> {
    // A name that could never be registered (NUL bytes, look-alikes) cannot exist.
    let canonical = Username::parse(username).map_err(|_| user_not_found())?;
    state
        .db
        .user_by_username(canonical.as_str())
        .await
        .map_err(crate::accounts::store_error)?
        .ok_or_else(user_not_found)
}

async fn ensure_not_last_admin(state: &AppState) -> ApiResult<()> {
    if state.db.active_admin_count().await.map_err(crate::accounts::store_error)? <= 1 {
        return Err(ApiError::conflict("This is the last active administrator; appoint another one first"));
    }
    Ok(())
}

pub(super) fn user_not_found() -> ApiError {
    ApiError::not_found("User not found")
}
