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

/// A display name: trimmed, bounded, free of control characters (NUL included).
pub fn parse_full_name(raw: &str) -> Result<Option<String>, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_FULL_NAME_CHARS {
        return Err("must be at most 128 characters");
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(Some(trimmed.to_owned()))
}
