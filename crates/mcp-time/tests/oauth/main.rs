//! The `--oauth` mode over real HTTP, as an MCP client meets it: discovery (RFC 9728, RFC
//! 8414), registration (RFC 7591), the consent page, the authorization code with PKCE, tokens
//! for the MCP endpoint, refresh rotation and reuse detection, expiry, and the counters.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest13::StatusCode;
use reqwest13::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const VERIFIER: &str = "a-code-verifier-long-enough-for-pkce-0123456789";
const CALLBACK: &str = "http://127.0.0.1:9/callback?from=test";

/// A server in `--oauth` mode whose access tokens last `token_life`: its base URL.
async fn start(token_life: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let options = mcp_time::oauth::Options { token_life };
    tokio::spawn(mcp_time::serve_oauth(listener, Duration::ZERO, options));
    base
}

/// A client that does not follow redirects: they are what is tested.
fn http() -> reqwest13::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest13::Client::builder().redirect(reqwest13::redirect::Policy::none()).build().unwrap()
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> reqwest13::Response {
    http()
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .unwrap()
}

async fn post_json(url: &str, body: &Value) -> (StatusCode, Value) {
    let response = http()
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

async fn get_json(url: &str) -> Value {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Registers a client named `name` with [`CALLBACK`]: its id.
async fn register(base: &str, name: &str) -> String {
    let body = json!({ "client_name": name, "redirect_uris": [CALLBACK] });
    let (status, client) = post_json(&format!("{base}/register"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    client["client_id"].as_str().unwrap().to_owned()
}

/// The parameters of a good authorization request from `client_id`.
fn request(client_id: &str, challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", client_id.into()),
        ("redirect_uri", CALLBACK.into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
        ("state", "st&te 1".into()),
        ("scope", "mcp".into()),
    ]
}

fn with<'a>(
    params: &'a [(&'static str, String)],
    changes: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    let mut out: Vec<_> = params
        .iter()
        .filter(|(name, _)| !changes.iter().any(|(changed, _)| changed == name))
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    out.extend(changes.iter().filter(|(_, value)| !value.is_empty()));
    out
}

/// The query parameters of a redirect's `Location`, which must go to [`CALLBACK`].
fn redirected(response: &reqwest13::Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/callback");
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("from".into(), "test".into()), "the redirect URI's own query is kept");
    pairs
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The user `username` allows `client_id`'s request: the code.
async fn sign_in(base: &str, client_id: &str, username: &str) -> String {
    let params = request(client_id, &pkce_challenge(VERIFIER));
    let allow = with(&params, &[("username", username), ("decision", "allow")]);
    let response = post_form(&format!("{base}/authorize"), &allow).await;
    let pairs = redirected(&response);
    assert_eq!(param(&pairs, "state"), Some("st&te 1"));
    param(&pairs, "code").expect("a code").to_owned()
}

/// A token request: its status and JSON answer (which must never be cached).
async fn token(base: &str, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = post_form(&format!("{base}/token"), pairs).await;
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let status = response.status();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

async fn exchange(base: &str, client_id: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("client_id", client_id),
        ("code_verifier", verifier),
    ];
    token(base, &pairs).await
}

async fn refresh(base: &str, client_id: &str, refresh_token: &str) -> (StatusCode, Value) {
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)];
    token(base, &pairs).await
}

/// Signs `username` in through `client_id`: the token answer.
async fn tokens_for(base: &str, client_id: &str, username: &str) -> Value {
    let code = sign_in(base, client_id, username).await;
    let (status, tokens) = exchange(base, client_id, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("no {field} in {value}")).to_owned()
}

/// An MCP `initialize` with `token`: the status, and the challenge if refused.
async fn mcp(base: &str, token: Option<&str>) -> (StatusCode, Option<String>) {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let mut request = http()
        .post(format!("{base}/mcp"))
        .header(CONTENT_TYPE, "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(initialize.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge = response.headers().get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    (response.status(), challenge)
}

async fn stats(base: &str) -> Value {
    get_json(&format!("{base}/oauth/stats")).await
}

mod sign_in;
mod tokens;
