//! The token endpoint (RFC 6749 §3.2): a code for tokens (§4.1.3, with the PKCE verifier),
//! or a refresh token for new ones (§6, rotated). Every answer is `no-store`; errors are
//! §5.2's JSON.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::store::{Exchange, Refusal, Tokens};
use super::{Server, is_mcp_scope, oauth_error};

/// A token request's parameters.
#[derive(Debug, serde::Deserialize)]
pub struct Params {
    grant_type: Option<String>,
    client_id: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
}

/// Why a token request is refused: an RFC 6749 §5.2 error.
struct Error {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Error {
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::InvalidGrant(why) => Error::bad("invalid_grant", why),
            Refusal::Full => Error {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "too many tokens are live".into(),
            },
        }
    }
}

/// `POST /token`.
pub async fn token(State(server): State<Arc<Server>>, form: Result<Form<Params>, FormRejection>) -> Response {
    let issued = match form {
        Ok(Form(params)) => issue(&server, &params),
        Err(e) => Err(Error::bad("invalid_request", e.body_text())),
    };
    match issued {
        Ok(tokens) => answer(&server, tokens),
        Err(e) => oauth_error(e.status, e.error, &e.description),
    }
}

/// The tokens `params` ask for.
fn issue(server: &Server, params: &Params) -> Result<Tokens, Error> {
    let client_id = required(&params.client_id, "client_id")?;
    // Tokens are only ever for this server (RFC 8707 §2).
    if params.resource.as_deref().is_some_and(|resource| resource != server.resource()) {
        return Err(Error::bad("invalid_target", "resource is not this server's MCP endpoint"));
    }
    let mut store = server.store();
    if store.client(client_id).is_none() {
        let description = "the client is not registered here".into();
        return Err(Error { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description });
    }
    let now = Instant::now();
    match params.grant_type.as_deref() {
        Some("authorization_code") => {
            let exchange = Exchange {
                code: required(&params.code, "code")?,
                client_id,
                redirect_uri: required(&params.redirect_uri, "redirect_uri")?,
                code_verifier: required(&params.code_verifier, "code_verifier")?,
            };
            Ok(store.exchange_code(&exchange, now)?)
        }
        Some("refresh_token") => {
            let refresh_token = required(&params.refresh_token, "refresh_token")?;
            if !params.scope.as_deref().is_none_or(is_mcp_scope) {
                return Err(Error::bad("invalid_scope", "the only scope is mcp"));
            }
            Ok(store.refresh(refresh_token, client_id, now)?)
        }
        Some(other) => {
            Err(Error::bad("unsupported_grant_type", format!("grant_type {other:?} is not supported")))
        }
        None => Err(Error::bad("invalid_request", "grant_type is missing")),
    }
}

/// A parameter the request must have.
fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, Error> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::bad("invalid_request", format!("{name} is missing")))
}

/// The successful answer (RFC 6749 §5.1).
fn answer(server: &Server, tokens: Tokens) -> Response {
    let body = axum::Json(json!({
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": server.token_life.as_secs(),
        "refresh_token": tokens.refresh_token,
        "scope": "mcp",
    }));
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], body)
        .into_response()
}
