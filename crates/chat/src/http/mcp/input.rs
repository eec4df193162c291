//! What the MCP server routes accept: names, addresses, settings, secrets, scopes.

use api_types::mcp::{McpScope, McpServerConfig};
use common::http::{ApiError, ApiResult};

use crate::state::AppState;
use crate::tools::MAX_CALL_TIMEOUT_SECS;

pub(super) const MAX_NAME_CHARS: usize = 100;
pub(super) const MAX_DESCRIPTION_CHARS: usize = 1000;
const MAX_URL_CHARS: usize = 2000;
const MAX_SECRET_CHARS: usize = 4096;
const MAX_ROLE_CHARS: usize = 64;
/// Most tools named in one list (a server offers at most 64), and the longest name.
const MAX_TOOL_NAMES: usize = 64;
const MAX_TOOL_NAME_CHARS: usize = 128;
/// Headers a secret may not be sent in: they belong to HTTP or to the MCP transport.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

pub(super) fn text(field: &str, raw: &str, max: usize, required: bool) -> ApiResult<String> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(ApiError::invalid_field(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid_field(field, "must not contain control characters"));
    }
    if required && value.is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    Ok(value.to_owned())
}

pub(super) fn server_url(state: &AppState, raw: &str) -> ApiResult<String> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::invalid_field(
            "server_url",
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    let url = state.generations.tools().mcp.egress().check(raw).map_err(|e| {
        let message = e.to_string();
        ApiError::invalid_field("server_url", message)
    })?;
    Ok(url.to_string())
}

pub(super) fn config(raw: McpServerConfig) -> ApiResult<String> {
    if let Some(secs) = raw.timeout_seconds
        && !(1..=MAX_CALL_TIMEOUT_SECS).contains(&secs)
    {
        return Err(ApiError::invalid_field(
            "config.timeout_seconds",
            format!("must be from 1 to {MAX_CALL_TIMEOUT_SECS} seconds"),
        ));
    }
    if let Some(timeouts) = &raw.tool_timeouts {
        if timeouts.len() > MAX_TOOL_NAMES {
            return Err(ApiError::invalid_field(
                "config.tool_timeouts",
                format!("may name at most {MAX_TOOL_NAMES} tools"),
            ));
        }
        for (tool, secs) in timeouts {
            tool_name("config.tool_timeouts", tool)?;
            if !(1..=MAX_CALL_TIMEOUT_SECS).contains(secs) {
                return Err(ApiError::invalid_field(
                    "config.tool_timeouts",
                    format!("must give each tool from 1 to {MAX_CALL_TIMEOUT_SECS} seconds"),
                ));
            }
        }
    }
    if let Some(header) = &raw.secret_header {
        let valid = !header.is_empty()
            && header.len() <= 64
            && header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str());
        if !valid {
            return Err(ApiError::invalid_field(
                "config.secret_header",
                "must be a header name of letters, digits and dashes, and not one HTTP or MCP uses itself",
            ));
        }
    }
    Ok(serde_json::to_string(&raw).expect("a config serialises"))
}

/// A secret as sent (`""` removes it); it must fit in a header.
pub(super) fn secret(raw: &str) -> ApiResult<Option<String>> {
    if raw.chars().count() > MAX_SECRET_CHARS {
        return Err(ApiError::invalid_field(
            "secret",
            format!("must be at most {MAX_SECRET_CHARS} characters"),
        ));
    }
    if !raw.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
        return Err(ApiError::invalid_field("secret", "must be printable ASCII (it is sent in a header)"));
    }
    Ok(Some(raw.trim().to_owned()).filter(|s| !s.is_empty()))
}

/// The scope and role of an administrator's server.
pub(super) fn shared_scope(
    scope: Option<McpScope>,
    role: Option<&str>,
) -> ApiResult<(McpScope, Option<String>)> {
    match scope.unwrap_or(McpScope::Global) {
        McpScope::User => Err(ApiError::invalid_field(
            "scope",
            "must be \"global\" or \"role\" (users add their own servers)",
        )),
        McpScope::Global => Ok((McpScope::Global, None)),
        McpScope::Role => {
            let role = text("role", role.unwrap_or_default(), MAX_ROLE_CHARS, true)?;
            Ok((McpScope::Role, Some(role)))
        }
    }
}

/// A tool's name as a server may give it (MCP: 1–128 characters of `[A-Za-z0-9_.-]`).
fn tool_name(field: &str, name: &str) -> ApiResult<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_TOOL_NAME_CHARS
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!(
                "must name tools by names of 1 to {MAX_TOOL_NAME_CHARS} letters, digits, '_', '.' or '-'"
            ),
        ))
    }
}

/// The tools a user wants to approve before each run: valid names, each once, in order.
pub(super) fn ask_before(tools: Vec<String>) -> ApiResult<Vec<String>> {
    if tools.len() > MAX_TOOL_NAMES {
        return Err(ApiError::invalid_field("tools", format!("may name at most {MAX_TOOL_NAMES} tools")));
    }
    let mut names: Vec<String> = Vec::with_capacity(tools.len());
    for tool in tools {
        tool_name("tools", &tool)?;
        if !names.contains(&tool) {
            names.push(tool);
        }
    }
    names.sort();
    Ok(names)
}
