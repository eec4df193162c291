//! Auth server request and response bodies (seed-compatible field names).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::rules;

/// A user as every auth endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct User {
    /// 16-character random id.
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub roles: Vec<String>,
    pub is_active: bool,
    /// RFC 3339 timestamp.
    pub created_at: String,
}

/// `POST /users/` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct CreateUser {
    #[schema(schema_with = rules::schema::username)]
    pub username: String,
    #[schema(schema_with = rules::schema::email)]
    pub email: String,
    #[schema(schema_with = rules::schema::password)]
    pub password: String,
    #[serde(default)]
    #[schema(schema_with = rules::schema::full_name_or_null)]
    pub full_name: Option<String>,
    /// Only an administrator may ask for roles other than `["user"]`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RoleName>>)]
    pub roles: Option<Vec<String>>,
}

/// The roles there are (administrators do everything; managers read users; users manage
/// themselves).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    Manager,
    User,
}

/// `PUT /users/{username}` body; every field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct UpdateUser {
    #[serde(default)]
    #[schema(schema_with = rules::schema::email_or_null)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(schema_with = rules::schema::full_name_or_null)]
    pub full_name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = rules::schema::password_or_null)]
    pub password: Option<String>,
    /// Administrators only.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// `POST /users/me/password` and `POST /users/{username}/password` body. (No `Debug`: it
/// must never end up in a log.)
#[derive(Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct ChangePassword {
    /// The caller's own current password, also when an administrator resets another user's
    /// password: whoever changes a password proves that they are at the keyboard.
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    /// 8 to 128 characters, not one of the most common passwords.
    #[schema(schema_with = rules::schema::password)]
    pub new_password: String,
}

/// `PUT /roles/{username}` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct SetRoles {
    #[schema(value_type = Vec<RoleName>)]
    pub roles: Vec<String>,
}

/// A message together with the user it concerns.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct UserMessage {
    pub message: String,
    pub user: User,
}

/// A message alone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[ts(rename = "AuthMessage")]
pub struct Message {
    pub message: String,
}

/// `GET /users/` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct UserList {
    pub users: Vec<User>,
    /// How many users match the query, regardless of paging.
    pub total: i64,
}

/// RFC 6749 §5.1 token response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer` (the seed's spelling).
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: String,
}

/// RFC 8693 token exchange response: a token for one MCP server (no refresh token: the chat
/// service exchanges again when it expires).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExchangedToken {
    pub access_token: String,
    /// Always `urn:ietf:params:oauth:token-type:access_token`.
    pub issued_token_type: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// Always `mcp`.
    pub scope: String,
}

/// RFC 7662 introspection response. Inactive tokens are exactly `{"active":false}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
pub struct Introspection {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// One security event of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct AuditEvent {
    pub id: String,
    /// RFC 3339 timestamp.
    pub at: String,
    /// e.g. `login_succeeded`, `login_failed`, `refresh_reuse`, `roles_changed`.
    pub event: String,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// `GET /audit` response, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct AuditList {
    pub events: Vec<AuditEvent>,
    pub total: i64,
}
