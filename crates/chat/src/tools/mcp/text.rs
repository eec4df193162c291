//! What went wrong with a server, in words for the user (the SDK's own messages name internal
//! types), and results cut to what the model is given.

use super::{MAX_RESPONSE_BYTES, MAX_RESULT_BYTES};

/// Why the handshake failed, in words for the user (rmcp's own messages name internal types).
pub(super) fn connect_error(error: &rmcp::service::ClientInitializeError) -> String {
    use rmcp::service::ClientInitializeError as Init;
    match error {
        Init::TransportError { error, .. } => transport_error(error),
        Init::ConnectionClosed(_) => "the server closed the connection during the handshake".into(),
        Init::JsonRpcError(e) => format!("the server refused the handshake: {}", e.message),
        Init::NoCompatibleProtocolVersion { .. } => {
            "the server speaks no MCP version this client knows".into()
        }
        _ => "the server's handshake answer is not valid MCP".into(),
    }
}

/// Why a request to a server failed, in words for the user.
pub(super) fn service_error(error: &rmcp::ServiceError) -> String {
    match error {
        rmcp::ServiceError::McpError(e) => format!("the server answered with an error: {}", e.message),
        rmcp::ServiceError::TransportSend(e) => transport_error(e),
        rmcp::ServiceError::TransportClosed => "the connection to the server closed".into(),
        rmcp::ServiceError::UnexpectedResponse => "the server's answer is not a tool result".into(),
        _ => "the request to the server failed".into(),
    }
}

fn transport_error(error: &rmcp::transport::DynamicTransportError) -> String {
    use rmcp::transport::streamable_http_client::StreamableHttpError as Http;
    match error.error.downcast_ref::<Http<http_client::Error>>() {
        Some(Http::Client(e)) => http_error(e),
        Some(Http::HttpStatus(status)) => format!("the server answered HTTP {}", status.status),
        Some(Http::ResponseBodyTooLarge { max_size }) => {
            format!("the server's answer is larger than {} KiB", max_size / 1024)
        }
        Some(Http::Sse(_)) => format!(
            "the server's event stream broke off or sent an event larger than {} KiB",
            MAX_RESPONSE_BYTES / 1024
        ),
        Some(Http::AuthRequired(_) | Http::InsufficientScope(_)) => {
            "the server requires authorization (a secret or a sign-in)".into()
        }
        Some(Http::SessionExpired) => "the server ended the session".into(),
        Some(
            Http::Deserialize(_)
            | Http::UnexpectedServerResponse(_)
            | Http::UnexpectedContentType(_)
            | Http::UnexpectedEndOfStream,
        ) => "the server's answer is not valid MCP (JSON-RPC)".into(),
        _ => "the connection to the server failed".into(),
    }
}

pub(crate) fn http_error(error: &http_client::Error) -> String {
    // The egress policy's refusal (from the resolver or a redirect) says it best.
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<crate::tools::egress::EgressError>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    if let Some(status) = error.status() {
        format!("the server answered HTTP {}", status.as_u16())
    } else if error.is_timeout() {
        "the server did not answer in time".into()
    } else if error.is_redirect() {
        "the server redirected too often".into()
    } else if error.is_connect() {
        "nothing answers at that address".into()
    } else {
        "the request to the server failed".into()
    }
}

/// `text`, cut at [`MAX_RESULT_BYTES`] (on a character boundary) with a note saying so.
pub(super) fn truncate(mut text: String) -> String {
    if text.len() <= MAX_RESULT_BYTES {
        return text;
    }
    let total = text.len();
    let mut cut = MAX_RESULT_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&format!("\n[the result was cut here: {total} bytes in all]"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_result_is_cut_on_a_character_boundary_with_a_note() {
        assert_eq!(truncate("short".into()), "short");
        let long = "é".repeat(MAX_RESULT_BYTES);
        let cut = truncate(long.clone());
        assert!(cut.len() < MAX_RESULT_BYTES + 64);
        assert!(cut.ends_with(&format!("[the result was cut here: {} bytes in all]", long.len())));
        assert!(cut.starts_with("éé"));
    }
}
