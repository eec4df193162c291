//! Who calls: with an auth server configured, every request must carry a bearer token it
//! signed for this server (audience: this server's URL, RFC 8707), with the scope `mcp`; any
//! other token — a user's own, one minted for another server — is refused with 401.

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
}

impl Identity {
    /// Tokens signed with the keys at `jwks_url` by `issuer`, for `resource`: this server's
    /// URL as clients reach it (e.g. `http://127.0.0.1:8765/mcp`).
    pub fn new(jwks_url: &str, issuer: &str, resource: &str) -> Self {
        Self { verifier: JwksVerifier::new(jwks_url, issuer, resource) }
    }
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
    let Some(token) = token else {
        return refuse("invalid_request", "a bearer token is required");
    };
    match identity.verifier.verify(&token).await {
        Ok(claims) if claims.scope.split_whitespace().any(|s| s == "mcp") => {
            request
                .extensions_mut()
                .insert(Caller { user_id: claims.sub, username: claims.preferred_username });
            next.run(request).await
        }
        Ok(_) => refuse("insufficient_scope", "the token lacks the scope mcp"),
        Err(e) => refuse("invalid_token", &e.to_string()),
    }
}

/// 401 with an RFC 6750 challenge.
fn refuse(error: &str, description: &str) -> Response {
    let challenge =
        format!("Bearer error=\"{error}\", error_description=\"{}\"", description.replace('"', "'"));
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], description.to_owned())
        .into_response()
}
