//! `--oauth`: this server as its own, minimal OAuth 2.1 authorization server, so a client can
//! be tested against an MCP server that asks each user to sign in, as the MCP authorization
//! spec describes it: a 401 points to the protected resource metadata (RFC 9728), which names
//! this server as the authorization server (RFC 8414 metadata); the client registers itself
//! (RFC 7591), sends the user to `/authorize` (authorization code with PKCE S256, RFC 7636,
//! and RFC 8707 `resource`), exchanges the code at `/token`, and refreshes there with
//! rotation: a rotated-away refresh token presented again revokes its whole family.
//!
//! Signing in is not authentication: the user types a name and is that user. Everything is in
//! memory, with bounds (see `store.rs`); `GET /oauth/stats` counts what clients did.

mod authorize;
mod pages;
mod store;
mod token;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::identity::{self, Caller, ProtectedResource};
use store::{Client, Store};

/// How the authorization server behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long an access token lasts (`expires_in`).
    pub token_life: Duration,
}

impl Default for Options {
    /// Access tokens for an hour.
    fn default() -> Self {
        Self { token_life: Duration::from_secs(3600) }
    }
}

/// What every handler shares: the URLs and the store.
struct Server {
    /// `http://ADDR`: the issuer, and the base of the endpoints' URLs.
    base: String,
    protected: ProtectedResource,
    /// How long access tokens last (the store's rule; kept here for `expires_in`).
    token_life: Duration,
    store: Mutex<Store>,
}

impl Server {
    /// The store. A panic elsewhere while it was held leaves it consistent (every change
    /// is made after the checks that can fail), so a poisoned lock is still used.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn resource(&self) -> &str {
        self.protected.resource()
    }
}

/// `mcp` (the MCP endpoint's router) behind bearer tokens from this server, and the
/// authorization server's endpoints beside it. `base` is `http://ADDR`, the issuer;
/// `resource` the MCP endpoint's URL as clients reach it, the one audience (RFC 8707) of the
/// tokens.
pub(crate) fn protect(mcp: Router, base: &str, resource: &str, options: Options) -> Router {
    let server = Arc::new(Server {
        base: base.to_owned(),
        protected: ProtectedResource::new(resource, base),
        token_life: options.token_life,
        store: Mutex::new(Store::new(options.token_life)),
    });
    let endpoints = Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/register", post(register))
        .route("/authorize", get(authorize::show).post(authorize::decide))
        .route("/token", post(token::token))
        .route("/oauth/stats", get(stats))
        // Every request here is small; a bigger one is not worth reading.
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(server.clone());
    let metadata = server.protected.metadata_router();
    mcp.layer(axum::middleware::from_fn_with_state(server, check)).merge(endpoints).merge(metadata)
}

/// The authorization server metadata (RFC 8414 §2).
async fn metadata(State(server): State<Arc<Server>>) -> Json<serde_json::Value> {
    let base = &server.base;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "registration_endpoint": format!("{base}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["mcp"],
    }))
}

/// The counters ([`store::Stats`]).
async fn stats(State(server): State<Arc<Server>>) -> Json<store::Stats> {
    Json(server.store().stats())
}

/// Lets a request to the MCP endpoint through only with an access token from this server,
/// unexpired and unrevoked; its user is attached for the tools (`whoami`).
async fn check(State(server): State<Arc<Server>>, mut request: Request, next: Next) -> Response {
    let Some(token) = identity::bearer_token(request.headers()) else {
        return server.protected.refuse("invalid_request", "a bearer token is required");
    };
    let username = server.store().caller(token, Instant::now()).map(str::to_owned);
    let Some(username) = username else {
        let why = "the access token is unknown, expired or revoked";
        return server.protected.refuse("invalid_token", why);
    };
    request.extensions_mut().insert(Caller { user_id: username.clone(), username });
    next.run(request).await
}

/// Most redirect URIs a client may register, and their longest length.
const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LEN: usize = 2000;
/// Longest client name, in characters.
const MAX_CLIENT_NAME: usize = 200;

/// The client metadata this server reads (RFC 7591 §2); anything else is ignored.
#[derive(serde::Deserialize)]
struct Registration {
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    client_name: Option<String>,
}

/// Dynamic client registration (RFC 7591 §3): public clients only (no secret; PKCE instead).
async fn register(
    State(server): State<Arc<Server>>,
    body: Result<Json<Registration>, JsonRejection>,
) -> Response {
    let Json(registration) = match body {
        Ok(body) => body,
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_metadata", &e.body_text()),
    };
    let client = match validate_registration(registration) {
        Ok(client) => client,
        Err((error, description)) => return oauth_error(StatusCode::BAD_REQUEST, error, &description),
    };
    let Ok(client_id) = server.store().register(client.clone()) else {
        let why = "too many clients are registered";
        return oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", why);
    };
    let issued_at = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": issued_at,
        "redirect_uris": client.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    if let Some(name) = client.name {
        answer["client_name"] = json!(name);
    }
    (StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response()
}

/// The client a registration describes, or its RFC 7591 §3.2.2 error and why.
fn validate_registration(registration: Registration) -> Result<Client, (&'static str, String)> {
    let redirect_uris = registration.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(("invalid_redirect_uri", "redirect_uris is required (at least one)".into()));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(("invalid_redirect_uri", format!("at most {MAX_REDIRECT_URIS} redirect_uris")));
    }
    if let Some(bad) = redirect_uris.iter().find(|uri| !is_redirect_uri(uri)) {
        let why = format!("{bad:?} is not an absolute http(s) URL without a fragment");
        return Err(("invalid_redirect_uri", why));
    }
    match registration.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            let why = format!("token_endpoint_auth_method {other:?}: only \"none\" (public clients)");
            return Err(("invalid_client_metadata", why));
        }
    }
    if registration.client_name.as_ref().is_some_and(|n| n.chars().count() > MAX_CLIENT_NAME) {
        let why = format!("client_name is longer than {MAX_CLIENT_NAME} characters");
        return Err(("invalid_client_metadata", why));
    }
    Ok(Client { name: registration.client_name, redirect_uris })
}

/// Whether `uri` may be registered: an absolute http or https URL without a fragment (RFC
/// 6749 §3.1.2), not too long. It is later matched exactly as registered.
fn is_redirect_uri(uri: &str) -> bool {
    uri.len() <= MAX_URI_LEN
        && !uri.contains('#')
        && url::Url::parse(uri).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// Whether a `scope` parameter asks for nothing but `mcp`, the only scope (an empty one
/// means the default: `mcp`).
fn is_mcp_scope(scope: &str) -> bool {
    scope.split(' ').all(|s| s.is_empty() || s == "mcp")
}

/// An OAuth error answer (RFC 6749 §5.2, RFC 7591 §3.2.2): `{"error","error_description"}`,
/// never cached.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = Json(json!({ "error": error, "error_description": description }));
    (status, [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], body).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redirect_uris_are_absolute_http_urls_without_fragments() {
        assert!(super::is_redirect_uri("http://127.0.0.1:9/callback?x=1"));
        assert!(super::is_redirect_uri("https://chat.example/oauth/callback"));
        for bad in
            ["/callback", "ftp://h/cb", "http://h/cb#x", "http://h/cb#", "javascript:alert(1)", "not a url"]
        {
            assert!(!super::is_redirect_uri(bad), "{bad}");
        }
    }
}
