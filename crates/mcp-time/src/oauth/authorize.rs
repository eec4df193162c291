//! The authorization endpoint (RFC 6749 §4.1.1 with PKCE and RFC 8707): `GET /authorize`
//! checks the request and shows the consent page; `POST /authorize` checks it again (the
//! form's fields come from the browser, not from us) and takes the user's decision.
//!
//! Until the client and its redirect URI are verified, errors are shown here: redirecting to
//! an unverified URI would make this server an open redirector. After that, errors go back to
//! the client at its redirect URI (RFC 6749 §4.1.2.1).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::store::{Grant, is_pkce_string};
use super::{Server, is_mcp_scope, pages};

/// Longest name a user may sign in with, in characters.
const MAX_USERNAME: usize = 100;

/// An authorization request's parameters as sent; on `POST`, with the user's answer.
#[derive(Debug, serde::Deserialize)]
pub struct Params {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    username: Option<String>,
    decision: Option<String>,
}

/// A valid authorization request.
#[derive(Debug)]
pub struct Request {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

impl Request {
    /// Its parameters, to send again with the user's answer.
    pub fn parameters(&self) -> Vec<(&'static str, &str)> {
        let mut parameters = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let optional = [("state", &self.state), ("scope", &self.scope), ("resource", &self.resource)];
        parameters.extend(optional.into_iter().filter_map(|(name, value)| Some((name, value.as_deref()?))));
        parameters
    }
}

/// `GET /authorize`: the consent page, or why not.
pub async fn show(
    State(server): State<Arc<Server>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let Query(params) = match query {
        Ok(query) => query,
        Err(e) => return pages::error(&e.body_text()),
    };
    let (request, client_name) = match verified(&server, &params) {
        Ok(verified) => verified,
        Err(why) => return pages::error(why),
    };
    match problem(&server, &params) {
        None => pages::consent(StatusCode::OK, &request, &client_name, None),
        Some((error, description)) => refuse(&request, error, description),
    }
}

/// `POST /authorize`: the user's decision on a request, checked again.
pub async fn decide(
    State(server): State<Arc<Server>>,
    form: Result<Form<Params>, FormRejection>,
) -> Response {
    let Form(params) = match form {
        Ok(form) => form,
        Err(e) => return pages::error(&e.body_text()),
    };
    let (request, client_name) = match verified(&server, &params) {
        Ok(verified) => verified,
        Err(why) => return pages::error(why),
    };
    if let Some((error, description)) = problem(&server, &params) {
        return refuse(&request, error, description);
    }
    match params.decision.as_deref() {
        Some("allow") => {}
        Some("deny") => return refuse(&request, "access_denied", "the user did not allow it"),
        _ => return refuse(&request, "invalid_request", "decision must be allow or deny"),
    }
    let username = params.username.as_deref().unwrap_or_default().trim();
    let retry = if username.is_empty() {
        Some("Please enter your name.".to_owned())
    } else if username.chars().count() > MAX_USERNAME {
        Some(format!("Please use at most {MAX_USERNAME} characters."))
    } else {
        None
    };
    if let Some(retry) = retry {
        return pages::consent(StatusCode::BAD_REQUEST, &request, &client_name, Some(&retry));
    }
    let grant = Grant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        username: username.to_owned(),
    };
    let issued = server.store().issue_code(grant, Instant::now());
    match issued {
        Ok(code) => {
            let state = request.state.as_deref().map(|state| ("state", state));
            redirect(&request.redirect_uri, [("code", code.as_str())].into_iter().chain(state))
        }
        Err(_) => refuse(&request, "temporarily_unavailable", "too many sign-ins are pending"),
    }
}

/// The request `params` make and its client's name to show, once its client and redirect
/// URI are verified (errors may then go back to the client: see [`problem`]); else why not,
/// for an error page.
fn verified(server: &Server, params: &Params) -> Result<(Request, String), &'static str> {
    let client_id = params.client_id.as_deref().ok_or("client_id is missing")?;
    let client = server.store().client(client_id).cloned().ok_or("the client is not registered here")?;
    let redirect_uri = params.redirect_uri.as_deref().ok_or("redirect_uri is missing")?;
    if !client.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return Err("redirect_uri is not one the client registered");
    }
    let client_name = client.name.unwrap_or_else(|| format!("An unnamed client ({client_id})"));
    let request = Request {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: params.code_challenge.clone().unwrap_or_default(),
        state: params.state.clone(),
        scope: params.scope.clone(),
        resource: params.resource.clone(),
    };
    Ok((request, client_name))
}

/// What is wrong with a request from a verified client, as an RFC 6749 §4.1.2.1 error code
/// and its description.
fn problem(server: &Server, params: &Params) -> Option<(&'static str, &'static str)> {
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Some(("invalid_request", "response_type is missing")),
        Some(_) => return Some(("unsupported_response_type", "response_type must be code")),
    }
    if !params.code_challenge.as_deref().is_some_and(is_pkce_string) {
        return Some(("invalid_request", "code_challenge is required: 43 to 128 characters (PKCE)"));
    }
    if params.code_challenge_method.as_deref() != Some("S256") {
        return Some(("invalid_request", "code_challenge_method must be S256 (plain is not accepted)"));
    }
    if params.resource.as_deref().is_some_and(|resource| resource != server.resource()) {
        return Some(("invalid_target", "resource is not this server's MCP endpoint"));
    }
    if !params.scope.as_deref().is_none_or(is_mcp_scope) {
        return Some(("invalid_scope", "the only scope is mcp"));
    }
    None
}

/// Sends the user back to the client with `error` (RFC 6749 §4.1.2.1), and the state.
fn refuse(request: &Request, error: &str, description: &str) -> Response {
    let state = request.state.as_deref().map(|state| ("state", state));
    let pairs = [("error", error), ("error_description", description)].into_iter().chain(state);
    redirect(&request.redirect_uri, pairs)
}

/// 303 to `redirect_uri` with `pairs` added to its query (after any it has), url-encoded.
fn redirect<'a>(redirect_uri: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return pages::error("the redirect URI is not a URL");
    };
    url.query_pairs_mut().extend_pairs(pairs);
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.as_str())]).into_response()
}
