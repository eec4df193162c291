//! Who calls: with an auth server configured, every request must carry a bearer token it
//! signed for this server (audience: this server's URL, RFC 8707), with the scope `mcp`; any
//! other token — a user's own, one minted for another server — is refused with 401, whose
//! challenge points to this server's protected resource metadata (RFC 9728: which
//! authorization server vouches for its callers), as the MCP authorization spec asks.
//!
//! [`ProtectedResource`] (the metadata and the 401) is shared with the `--oauth` mode
//! ([`crate::oauth`]), where this server is its own authorization server.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::jwks::JwksVerifier;

/// The caller a request's token names, for the tools (`whoami`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
}

/// This server as an OAuth protected resource (RFC 9728): its URL as clients reach it, and
/// the authorization server that vouches for its callers. Both ways of checking callers
/// (`--issuer`, `--oauth`) publish the same document and answer with the same 401, so a
/// client discovers either the same way.
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    resource: String,
    authorization_server: String,
}

impl ProtectedResource {
    /// `resource` is this server's URL (e.g. `http://127.0.0.1:8765/mcp`); tokens for it are
    /// issued by `authorization_server` (its issuer URL).
    pub fn new(resource: &str, authorization_server: &str) -> Self {
        Self { resource: resource.to_owned(), authorization_server: authorization_server.to_owned() }
    }

    /// This server's URL: the audience (RFC 8707 `resource`) of the tokens it takes.
    pub fn resource(&self) -> &str {
        &self.resource
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

    /// The protected resource metadata (RFC 9728 §2).
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "resource": self.resource,
            "authorization_servers": [self.authorization_server],
            "scopes_supported": ["mcp"],
            "bearer_methods_supported": ["header"],
            "resource_name": "mcp-time",
        })
    }

    /// A router serving [`Self::metadata`] at [`Self::metadata_path`].
    pub fn metadata_router(&self) -> axum::Router {
        let document = axum::Json(self.metadata());
        let serve = move || std::future::ready(document.clone());
        axum::Router::new().route(&self.metadata_path(), axum::routing::get(serve))
    }

    /// 401 with an RFC 6750 challenge naming the metadata (RFC 9728 §5.1), so a client that
    /// knows nothing yet can find where to get a token.
    pub fn refuse(&self, error: &str, description: &str) -> Response {
        let challenge = format!(
            "Bearer resource_metadata=\"{}\", scope=\"mcp\", error=\"{error}\", error_description=\"{}\"",
            self.metadata_url(),
            description.replace(['"', '\\'], "'")
        );
        (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], description.to_owned())
            .into_response()
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

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive), if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
}

/// The auth server whose tokens this server takes, and its own URL (their audience).
pub struct Identity {
    verifier: JwksVerifier,
    protected: ProtectedResource,
}

impl Identity {
    /// Tokens signed with the keys at `jwks_url` by `issuer`, for `resource`: this server's
    /// URL as clients reach it (e.g. `http://127.0.0.1:8765/mcp`).
    pub fn new(jwks_url: &str, issuer: &str, resource: &str) -> Self {
        Self {
            verifier: JwksVerifier::new(jwks_url, issuer, resource),
            protected: ProtectedResource::new(resource, issuer),
        }
    }

    /// This server as a protected resource of `issuer`.
    pub fn protected_resource(&self) -> &ProtectedResource {
        &self.protected
    }

    /// Where the metadata is: see [`ProtectedResource::metadata_url`].
    pub fn metadata_url(&self) -> String {
        self.protected.metadata_url()
    }

    /// The path the metadata is served at on this server.
    pub fn metadata_path(&self) -> String {
        self.protected.metadata_path()
    }
}

/// `mcp` (the MCP endpoint's router) behind `identity`'s check, and the metadata beside it.
pub(crate) fn protect(mcp: axum::Router, identity: Identity) -> axum::Router {
    let metadata = identity.protected.metadata_router();
    mcp.layer(axum::middleware::from_fn_with_state(Arc::new(identity), check)).merge(metadata)
}

/// Lets a request through only with a good token, its caller attached.
pub async fn check(State(identity): State<Arc<Identity>>, mut request: Request, next: Next) -> Response {
    let deny = |error: &str, description: &str| identity.protected.refuse(error, description);
    let Some(token) = bearer_token(request.headers()).map(str::to_owned) else {
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

    #[test]
    fn a_bearer_token_is_read_whatever_the_scheme_case() {
        let headers = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert_eq!(super::bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(super::bearer_token(&headers("bearer  abc ")), Some("abc"));
        assert_eq!(super::bearer_token(&headers("Basic abc")), None);
        assert_eq!(super::bearer_token(&headers("Bearer ")), None);
        assert_eq!(super::bearer_token(&axum::http::HeaderMap::new()), None);
    }
}
