//! Finding a server's authorization server and registering with it, as the MCP authorization
//! spec asks: the server's protected resource metadata (RFC 9728) names its authorization
//! server, whose metadata (RFC 8414, or OpenID Connect discovery) names the endpoints; the chat
//! service registers itself there as a client (RFC 7591). Every request goes through the egress
//! policy, like the server's own: a sign-in cannot reach an address a tool server may not.

use std::time::Duration;

use serde::Deserialize;

use super::OAuthError;
use crate::tools::egress::Egress;

/// Longest wait for one request to an authorization server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from one.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Most requests to authorization servers in flight in this process (each may take
/// [`REQUEST_TIMEOUT`]), and how long one waits for its turn.
const MAX_IN_FLIGHT: usize = 32;
const TURN_WAIT: Duration = Duration::from_secs(5);

/// Where a server's sign-ins happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    /// The scopes the server asks for (its metadata's `scopes_supported`), space-separated.
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct ResourceMetadata {
    resource: String,
    #[serde(default)]
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
}

#[derive(Deserialize)]
struct ServerMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
}

#[derive(Deserialize)]
pub struct Registered {
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// Requests to authorization servers, under the egress policy.
pub struct Client {
    egress: Egress,
    http: http_client::Client,
    in_flight: tokio::sync::Semaphore,
}

/// A request's answer: its status and body (at most [`MAX_ANSWER_BYTES`]).
pub struct Answer {
    pub status: http_client::StatusCode,
    pub body: Vec<u8>,
}

impl Client {
    pub fn new(egress: Egress) -> Self {
        let http = egress.client_without_redirects(REQUEST_TIMEOUT);
        Self { egress, http, in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT) }
    }

    /// `url` if the egress policy lets the chat service (or a user's browser, for the
    /// authorization endpoint) go there.
    pub fn check(&self, url: &str) -> Result<http_client::Url, OAuthError> {
        self.egress.check(url).map_err(|e| OAuthError::Unreachable(e.to_string()))
    }

    async fn send(&self, request: http_client::RequestBuilder, what: &str) -> Result<Answer, OAuthError> {
        let busy = || OAuthError::Unreachable(format!("{what}: too many sign-ins are under way: try again"));
        let _turn = match tokio::time::timeout(TURN_WAIT, self.in_flight.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(busy()),
        };
        let response = request
            .timeout(REQUEST_TIMEOUT)
            .header(http_client::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| OAuthError::Unreachable(format!("{what}: {}", crate::tools::mcp::http_error(&e))))?;
        let status = response.status();
        let body = read_capped(response, MAX_ANSWER_BYTES).await.map_err(|()| {
            OAuthError::Invalid(format!("{what}: the answer could not be read or is too large"))
        })?;
        Ok(Answer { status, body })
    }

    pub async fn get(&self, url: &str, what: &str) -> Result<Answer, OAuthError> {
        let url = self.check(url)?;
        self.send(self.http.get(url), what).await
    }

    /// Posts a form (`application/x-www-form-urlencoded`).
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<Answer, OAuthError> {
        let url = self.check(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .http
            .post(url)
            .header(http_client::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request, what).await
    }

    async fn post_json(&self, url: &str, body: &serde_json::Value, what: &str) -> Result<Answer, OAuthError> {
        let url = self.check(url)?;
        let request = self
            .http
            .post(url)
            .header(http_client::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(request, what).await
    }

    /// The first of `urls` that answers 200 with a JSON document of type `T`.
    async fn first_document<T: for<'de> Deserialize<'de>>(
        &self,
        urls: &[String],
        what: &str,
    ) -> Result<T, OAuthError> {
        let mut last = OAuthError::NoMetadata(what.to_owned());
        for url in urls {
            match self.get(url, what).await {
                Ok(answer) if answer.status.is_success() => match serde_json::from_slice(&answer.body) {
                    Ok(document) => return Ok(document),
                    Err(_) => last = OAuthError::Invalid(format!("{what} is not valid JSON of its kind")),
                },
                Ok(_) => {}
                Err(e @ OAuthError::Unreachable(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Finds the authorization server of the MCP server at `server_url` and its endpoints.
    pub async fn discover(&self, server_url: &str) -> Result<Endpoints, OAuthError> {
        let resource: ResourceMetadata = self
            .first_document(
                &well_known(server_url, "oauth-protected-resource"),
                "the server's protected resource metadata",
            )
            .await?;
        // RFC 9728 §3.3: metadata for another resource must not be used.
        if !same_resource(&resource.resource, server_url) {
            return Err(OAuthError::Invalid(
                "the server's protected resource metadata describes another server".into(),
            ));
        }
        let issuer = resource.authorization_servers.first().ok_or_else(|| {
            OAuthError::Invalid("the server's metadata names no authorization server".into())
        })?;
        let mut urls = well_known(issuer, "oauth-authorization-server");
        urls.extend(well_known(issuer, "openid-configuration"));
        let metadata: ServerMetadata =
            self.first_document(&urls, "the authorization server's metadata").await?;
        // RFC 8414 §3.3: the issuer must be the one asked for.
        if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(OAuthError::Invalid(
                "the authorization server's metadata names another issuer".into(),
            ));
        }
        // The MCP authorization spec: no PKCE with S256, no sign-in.
        if !metadata.code_challenge_methods_supported.iter().any(|m| m == "S256") {
            return Err(OAuthError::Invalid(
                "the authorization server does not support PKCE with S256".into(),
            ));
        }
        // The browser goes to the authorization endpoint: an http(s) address the policy allows.
        self.check(&metadata.authorization_endpoint)?;
        let scope = resource.scopes_supported.join(" ");
        Ok(Endpoints {
            issuer: metadata.issuer,
            authorization_endpoint: metadata.authorization_endpoint,
            token_endpoint: metadata.token_endpoint,
            registration_endpoint: metadata.registration_endpoint,
            scope: (!scope.is_empty()).then_some(scope),
        })
    }

    /// Registers the chat service as a client of the authorization server (RFC 7591).
    pub async fn register(
        &self,
        endpoints: &Endpoints,
        redirect_uris: &[String],
    ) -> Result<Registered, OAuthError> {
        let Some(endpoint) = &endpoints.registration_endpoint else {
            return Err(OAuthError::Invalid(
                "the authorization server does not let clients register themselves (RFC 7591)".into(),
            ));
        };
        let request = serde_json::json!({
            "client_name": "Open ChatBot",
            "redirect_uris": redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        let what = "the client registration";
        let answer = self.post_json(endpoint, &request, what).await?;
        if !answer.status.is_success() {
            return Err(OAuthError::Refused(format!("{what}: {}", oauth_error(&answer))));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|_| OAuthError::Invalid(format!("{what}: the answer names no client")))
    }
}

/// The well-known addresses of a document about `url` (RFC 8615 as RFC 9728 §3.1 and RFC 8414
/// §3.1 place it: between the origin and the path), the path-less one last.
fn well_known(url: &str, document: &str) -> Vec<String> {
    let Ok(parsed) = http_client::Url::parse(url) else { return Vec::new() };
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let mut urls = vec![format!("{origin}/.well-known/{document}{path}")];
    if !path.is_empty() {
        urls.push(format!("{origin}/.well-known/{document}"));
    }
    urls
}

fn same_resource(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct Error {
    error: String,
    error_description: Option<String>,
}

/// The `error` of an OAuth error answer.
pub fn error_code(answer: &Answer) -> Option<String> {
    if answer.status.is_success() {
        return None;
    }
    serde_json::from_slice::<Error>(&answer.body).ok().map(|e| e.error)
}

/// An OAuth error answer in words: its `error` and `error_description`, or its status.
pub fn oauth_error(answer: &Answer) -> String {
    match serde_json::from_slice::<Error>(&answer.body) {
        Ok(Error { error, error_description: Some(description) }) => {
            format!("{} ({})", clip(&error), clip(&description))
        }
        Ok(Error { error, .. }) => clip(&error),
        Err(_) => format!("it answered HTTP {}", answer.status.as_u16()),
    }
}

/// At most 200 printable characters of a server's text (no control characters, and none that
/// reorder or hide text).
fn clip(text: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    text.chars().filter(|&c| !hidden(c)).take(200).collect()
}

/// A response's body, unless it is larger than `max` bytes.
pub async fn read_capped(mut response: http_client::Response, max: usize) -> Result<Vec<u8>, ()> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| ())? {
        if body.len() + chunk.len() > max {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::well_known;

    #[test]
    fn well_known_documents_sit_between_origin_and_path() {
        assert_eq!(
            well_known("https://h:8443/tools/mcp/", "oauth-protected-resource"),
            [
                "https://h:8443/.well-known/oauth-protected-resource/tools/mcp",
                "https://h:8443/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            well_known("https://as.example", "oauth-authorization-server"),
            ["https://as.example/.well-known/oauth-authorization-server"]
        );
        assert!(well_known("not a url", "x").is_empty());
    }
}
