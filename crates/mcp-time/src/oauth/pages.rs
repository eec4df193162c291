//! The HTML the user sees: the consent page ("Sign in to mcp-time") and the error page shown
//! when the request cannot be sent back to its client. Every value that came from a request
//! or a registration is escaped.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authorize::Request;

/// Escapes `text` for HTML text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The consent page for `request` from the client named `client_name`, with `problem` (why
/// the last answer was not taken) if any. The form posts the request's parameters back, so
/// the decision is checked against exactly what the user saw.
pub fn consent(status: StatusCode, request: &Request, client_name: &str, problem: Option<&str>) -> Response {
    let hidden: String = request
        .parameters()
        .into_iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value)))
        .collect();
    let problem = problem.map(|p| format!("<p role=\"alert\">{}</p>\n", escape(p))).unwrap_or_default();
    let body = format!(
        "<p><strong>{client}</strong> asks to use mcp-time's tools in your name.</p>\n\
         <p>If you allow it, you will be sent back to {redirect}.</p>\n\
         {problem}\
         <form method=\"post\" action=\"/authorize\">\n\
         {hidden}\
         <label for=\"username\">Your name on mcp-time</label>\n\
         <input name=\"username\" id=\"username\" required autofocus>\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\n\
         </form>\n",
        client = escape(client_name),
        redirect = escape(&request.redirect_uri),
    );
    page(status, &body)
}

/// An error page for a request that cannot be sent back to its client (an unknown client, a
/// redirect URI it did not register): redirecting then could hand codes or errors to anyone.
pub fn error(message: &str) -> Response {
    let body = format!("<p>This sign-in request is not valid: {}.</p>\n", escape(message));
    page(StatusCode::BAD_REQUEST, &body)
}

/// A complete page titled "Sign in to mcp-time". Never cached, never framed (a framed consent
/// page could be clicked through by another site).
fn page(status: StatusCode, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Sign in to mcp-time</title>\n</head>\n<body>\n<h1>Sign in to mcp-time</h1>\n\
         {body}</body>\n</html>\n"
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
    ];
    (status, headers, html).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
