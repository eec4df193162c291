/// Why a reply could not be produced. The `Display` text is shown to users, so it names the
/// problem and never contains a key, a URL with credentials, or a raw upstream body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error(
        "no model provider configured: set OPENCHAT_LOCAL_MODEL to a GGUF file (or unset it for the default local model), OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server) or ANTHROPIC_API_KEY, or configure [[chat.providers]]"
    )]
    NotConfigured,
    /// A problem of the embedded local model, as a sentence that names the fix.
    #[error("{0}")]
    Local(String),
    #[error("the model '{0}' is not available")]
    UnknownModel(String),
    #[error("the model provider timed out")]
    Timeout,
    #[error("cannot reach the model provider")]
    Connect,
    #[error("the model provider refused the API key")]
    Unauthorized,
    #[error("the model provider is rate limiting requests; try again shortly")]
    RateLimited,
    #[error("the model provider answered with an error ({status}): {message}")]
    Upstream { status: u16, message: String },
    #[error("the model provider's stream broke off: {0}")]
    Stream(String),
}

impl LlmError {
    pub(crate) fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            LlmError::Timeout
        } else if error.is_connect() {
            LlmError::Connect
        } else {
            LlmError::Stream(without_url(error))
        }
    }

    /// From an HTTP error status and the body the provider sent with it.
    pub(crate) fn from_status(status: u16, body: &str) -> Self {
        match status {
            401 | 403 => LlmError::Unauthorized,
            429 => LlmError::RateLimited,
            _ => LlmError::Upstream { status, message: upstream_message(body) },
        }
    }
}

/// The human message inside an OpenAI- or Anthropic-style error body, bounded.
pub(crate) fn upstream_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message").or_else(|| v.get("message")).or_else(|| v.get("error")))
        .and_then(|m| m.as_str())
        .unwrap_or("no details");
    message.chars().filter(|c| !c.is_control()).take(300).collect()
}

fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<provider>");
    }
    text.chars().take(300).collect()
}
