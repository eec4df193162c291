//! Bounds on what users send.

use common::http::ApiError;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 16_000;
/// Longest id accepted in a path or frame before it is even looked up.
pub const MAX_ID_CHARS: usize = 64;

/// A title: at most 200 characters, not blank, no control characters; stored trimmed (the
/// documents' `api_types::rules::NOT_BLANK_NO_CONTROL`).
pub fn title(raw: &str) -> Result<String, ApiError> {
    if raw.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::invalid_field("title", "must be at most 200 characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("title", "must not contain control characters"));
    }
    let title = raw.trim();
    if title.is_empty() {
        return Err(ApiError::invalid_field("title", "must not be empty"));
    }
    Ok(title.to_owned())
}

pub fn system_prompt(raw: &str) -> Result<Option<String>, ApiError> {
    system_prompt_named("system_prompt", raw)
}

/// A system prompt in the field `field` (a conversation's, or a user's default).
pub fn system_prompt_named(field: &str, raw: &str) -> Result<Option<String>, ApiError> {
    if raw.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
        return Err(ApiError::invalid_field(field, "must be at most 16000 characters"));
    }
    if raw.contains('\0') {
        return Err(ApiError::invalid_field(field, "must not contain NUL characters"));
    }
    Ok(Some(raw.to_owned()).filter(|p| !p.trim().is_empty()))
}

pub fn content(raw: &str, max_chars: usize) -> Result<String, ApiError> {
    if raw.trim().is_empty() {
        return Err(ApiError::invalid_field("content", "must not be empty"));
    }
    if raw.chars().count() > max_chars {
        return Err(ApiError::invalid_field("content", format!("must be at most {max_chars} characters")));
    }
    if raw.contains('\0') {
        return Err(ApiError::invalid_field("content", "must not contain NUL characters"));
    }
    Ok(raw.to_owned())
}

/// A model must be one the registry offers (when any provider is configured).
pub fn model(raw: &str, registry: &llm::Registry) -> Result<Option<String>, ApiError> {
    model_named("model", raw, registry)
}

/// A model in the field `field` (a conversation's, or a user's default).
pub fn model_named(field: &str, raw: &str, registry: &llm::Registry) -> Result<Option<String>, ApiError> {
    if raw.chars().count() > 200 || raw.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(field, "is not a valid model name"));
    }
    let model = raw.trim();
    if model.is_empty() {
        return Ok(None);
    }
    if !registry.is_empty() && !registry.models().iter().any(|m| m.id == model) {
        return Err(ApiError::invalid_field(
            field,
            "is not one of the configured models (see GET /api/v1/models)",
        ));
    }
    Ok(Some(model.to_owned()))
}

/// Ids that could never have been issued are answered like unknown ones.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
