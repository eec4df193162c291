//! Account rules shared by the HTTP API and the admin command line.

use api_types::auth::{CreateUser, User};
use api_types::error::FieldError;
use common::http::ApiError;

use crate::domain::{Email, Password, RoleSet, Username, parse_full_name};
use crate::passwords::Hasher;
use crate::store::{Db, NewUser, StoreError, UserRecord};

/// A registration that passed validation.
pub struct ValidNewUser {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub full_name: Option<String>,
    /// `None` when the request did not ask for roles.
    pub roles: Option<RoleSet>,
}

/// Validates every field at once, so the client learns all problems in one answer (422).
pub fn validate_new_user(input: &CreateUser) -> Result<ValidNewUser, ApiError> {
    let mut errors = Vec::new();
    let mut field = |name: &str, message: &str| {
        errors.push(FieldError { field: name.into(), message: message.into() });
    };
    // Exactly as typed: a client trims what its user typed (the documents' patterns say so).
    let username = Username::parse_exact(&input.username).map_err(|m| field("username", m)).ok();
    let email = Email::parse_exact(&input.email).map_err(|m| field("email", m)).ok();
    let password = Password::parse(&input.password).map_err(|m| field("password", m)).ok();
    let full_name = parse_full_name(input.full_name.as_deref().unwrap_or_default())
        .map_err(|m| field("full_name", m))
        .ok();
    let roles = match &input.roles {
        Some(names) => match RoleSet::parse(names) {
            Ok(set) => Some(Some(set)),
            Err(bad) => {
                return Err(ApiError::bad_request(format!("Role '{}' does not exist", printable(&bad))));
            }
        },
        None => Some(None),
    };
    match (username, email, password, full_name, roles) {
        (Some(username), Some(email), Some(password), Some(full_name), Some(roles)) if errors.is_empty() => {
            Ok(ValidNewUser { username, email, password, full_name, roles })
        }
        _ => Err(ApiError::validation(errors)),
    }
}

/// Creates the user; a taken username or email is a 400 saying so.
pub async fn create_user(db: &Db, hasher: &Hasher, user: ValidNewUser) -> Result<UserRecord, ApiError> {
    if db.user_by_username(user.username.as_str()).await.map_err(store_error)?.is_some() {
        return Err(ApiError::bad_request("Username already registered"));
    }
    if db.user_by_email(user.email.as_str()).await.map_err(store_error)?.is_some() {
        return Err(ApiError::bad_request("Email already registered"));
    }
    let password_hash = hasher.hash(user.password.expose()).await?;
    let record = NewUser {
        id: common::ids::random_id(common::ids::USER_ID_LEN),
        username: user.username.as_str().to_owned(),
        email: user.email.as_str().to_owned(),
        full_name: user.full_name,
        password_hash,
        roles: user.roles.unwrap_or_else(RoleSet::user),
        now: common::clock::now(),
    };
    db.insert_user(record).await.map_err(store_error)
}

/// Maps storage errors: a taken name or address is the client's 400 (the seed's answer), the
/// last administrator a 409, a database that is down or full a 503, the rest internal.
pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict(field) => ApiError::bad_request(format!("{field} already registered")),
        StoreError::LastAdmin => ApiError::conflict(StoreError::LastAdmin.to_string()),
        StoreError::Database(error) => ApiError::database(&error),
        StoreError::Connect(error) => ApiError::unavailable(error),
    }
}

/// The wire form of a user.
pub fn to_wire(user: &UserRecord) -> User {
    User {
        id: user.id.clone(),
        username: user.username.clone(),
        email: user.email.clone(),
        full_name: user.full_name.clone(),
        roles: user.roles.names(),
        is_active: user.is_active,
        created_at: common::clock::rfc3339(user.created_at),
    }
}

/// Client-supplied text made safe to echo in a message: bounded, no control characters.
pub fn printable(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).take(64).collect()
}
