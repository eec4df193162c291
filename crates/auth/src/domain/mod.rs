//! Domain types that cannot hold a bad value: parse, don't validate.

mod email;
mod password;
mod role;
mod username;

pub use email::Email;
pub use password::Password;
pub use role::{Role, RoleSet};
pub use username::Username;

/// Bounds every free-text field before anything else looks at it.
pub const MAX_FULL_NAME_CHARS: usize = 128;

/// A display name: at most 128 characters, free of control characters (NUL included), stored
/// trimmed; blank is none. The same rule is in the API documents (`max_length`,
/// `api_types::rules::NO_CONTROL`).
pub fn parse_full_name(raw: &str) -> Result<Option<String>, &'static str> {
    if raw.chars().count() > MAX_FULL_NAME_CHARS {
        return Err("must be at most 128 characters");
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    let trimmed = raw.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}
