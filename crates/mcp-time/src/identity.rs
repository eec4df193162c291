//! Who calls: with an auth server configured, every request must carry a bearer token it
//! signed for this server (audience: this server's URL, RFC 8707), with the scope `mcp`; any
//! other token — a user's own, one minted for another server — is refused with 401, whose
//! challenge points to this server's protected resource metadata (RFC 9728: which
//! authorization server vouches for its callers), as the MCP authorization spec asks.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::jwks::JwksVerifier;

/// The caller a request's token names, for the tools (`whoami`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
}

/// The auth server whose tokens this server takes, and its own URL (their audience).
pub struct Identity {
    verifier: JwksVerifier,
    issuer: String,
    resource: String,
}

impl Identity {
    /// Tokens signed with the keys at `jwks_url` by `issuer`, for `resource`: this server's
    /// URL as clients reach it (e.g. `http://127.0.0.1:8765/mcp`).
    pub fn new(jwks_url: &str, issuer: &str, resource: &str) -> Self {
        Self {
            verifier: JwksVerifier::new(jwks_url, issuer, resource),
            issuer: issuer.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// Where the metadata is (RFC 9728 §3.1): the well-known path inserted between the
    /// resource's origin and its path.
    pub fn metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.resource);
        format!("{origin}{METADATA_PATH}{path}")
    }

    /// The path the metadata is served at on this server.
    pub fn metadata_path(&self) -> String {
        format!("{METADATA_PATH}{}", split_origin(&self.resource).1)
    }
}

const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// `https://h:1/mcp?x` → (`https://h:1`, `/mcp`).
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    let path = &url[path_start..];
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    (&url[..path_start], path)
}

/// The protected resource metadata (RFC 9728 §2).
pub async fn metadata(State(identity): State<Arc<Identity>>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "resource": identity.resource,
        "authorization_servers": [identity.issuer],
        "scopes_supported": ["mcp"],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-time",
    }))
}

/// Lets a request through only with a good token, its caller attached.
pub async fn check(State(identity): State<Arc<Identity>>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let deny = |error: &str, description: &str| refuse(&identity, error, description);
    let Some(token) = token else {
        return deny("invalid_request", "a bearer token is required");
    };
    match identity.verifier.verify(&token).await {
        Ok(claims) if claims.scope.split_whitespace().any(|s| s == "mcp") => {
            request
                .extensions_mut()
                .insert(Caller { user_id: claims.sub, username: claims.preferred_username });
            next.run(request).await
        }
        Ok(_) => deny("insufficient_scope", "the token lacks the scope mcp"),
        Err(e) => deny("invalid_token", &e.to_string()),
    }
}

/// 401 with an RFC 6750 challenge naming the metadata (RFC 9728 §5.1).
fn refuse(identity: &Identity, error: &str, description: &str) -> Response {
    let challenge = format!(
        "Bearer resource_metadata=\"{}\", scope=\"mcp\", error=\"{error}\", error_description=\"{}\"",
        identity.metadata_url(),
        description.replace('"', "'")
    );
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], description.to_owned())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::Identity;

    #[test]
    fn the_metadata_sits_between_origin_and_path() {
        let at = |resource: &str| Identity::new("http://a/jwks", "http://a", resource).metadata_url();
        assert_eq!(
            at("http://127.0.0.1:8765/mcp"),
            "http://127.0.0.1:8765/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            at("https://h/tools/mcp/?x=1"),
            "https://h/.well-known/oauth-protected-resource/tools/mcp"
        );
        assert_eq!(at("https://h"), "https://h/.well-known/oauth-protected-resource");
    }
}
