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

#[tokio::test]
async fn the_metadata_leads_from_the_mcp_endpoint_to_the_authorization_server() {
    let base = start(Duration::from_secs(3600)).await;
    let (status, challenge) = mcp(&base, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    let challenge = challenge.expect("a challenge");
    assert!(
        challenge.starts_with(&format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp\", error=")),
        "{challenge}"
    );

    let resource = get_json(&metadata_url).await;
    assert_eq!(
        resource,
        json!({
            "resource": format!("{base}/mcp"),
            "authorization_servers": [base],
            "scopes_supported": ["mcp"],
            "bearer_methods_supported": ["header"],
            "resource_name": "mcp-time",
        })
    );
    let server = get_json(&format!("{base}/.well-known/oauth-authorization-server")).await;
    assert_eq!(
        server,
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "registration_endpoint": format!("{base}/register"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp"],
        })
    );
}

#[tokio::test]
async fn registration_takes_public_clients_with_http_redirect_uris() {
    let base = start(Duration::from_secs(3600)).await;
    let url = format!("{base}/register");
    let (status, client) =
        post_json(&url, &json!({"client_name": "Chat", "redirect_uris": [CALLBACK]})).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert!(text(&client, "client_id").len() >= 43, "{client}");
    assert!(client["client_id_issued_at"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(client["client_name"], "Chat");
    assert_eq!(client["redirect_uris"], json!([CALLBACK]));
    assert_eq!(client["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(client["response_types"], json!(["code"]));
    assert_eq!(client["token_endpoint_auth_method"], "none");

    for bad in [
        json!({}),
        json!({"redirect_uris": []}),
        json!({"redirect_uris": ["/callback"]}),
        json!({"redirect_uris": ["http://h/cb#frag"]}),
        json!({"redirect_uris": ["ftp://h/cb"]}),
    ] {
        let (status, error) = post_json(&url, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error["error"], "invalid_redirect_uri", "{bad}: {error}");
        assert!(error["error_description"].is_string());
    }
    let secret = json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_basic"});
    let (status, error) = post_json(&url, &secret).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_client_metadata")));
    let long = json!({"redirect_uris": [CALLBACK], "client_name": "x".repeat(201)});
    let (status, error) = post_json(&url, &long).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_client_metadata")));
    assert_eq!(stats(&base).await["registrations"], 1);
}

#[tokio::test]
async fn the_consent_page_escapes_what_it_shows_and_errors_go_back_only_to_registered_uris() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "<script>alert(1)</script>").await;
    let params = request(&client_id, &pkce_challenge(VERIFIER));
    let authorize = |pairs: Vec<(&str, &str)>| {
        let url = format!("{base}/authorize?{}", form(&pairs));
        async move { http().get(url).send().await.unwrap() }
    };

    let page = authorize(with(&params, &[])).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(page.contains("<title>Sign in to mcp-time</title>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains(r#"<form method="post" action="/authorize">"#), "{page}");
    assert!(page.contains(r#"<label for="username">Your name on mcp-time</label>"#), "{page}");
    assert!(page.contains(r#"<input name="username" id="username""#), "{page}");
    assert!(page.contains(r#"name="decision" value="allow">Allow</button>"#), "{page}");
    assert!(page.contains(r#"name="decision" value="deny""#), "{page}");
    assert!(page.contains(r#"<input type="hidden" name="state" value="st&amp;te 1">"#), "{page}");
    assert!(page.contains(&format!(r#"<input type="hidden" name="client_id" value="{client_id}">"#)));

    // Never a redirect to a URI the client did not register, nor for an unknown client.
    for refused in [
        with(&params, &[("redirect_uri", "http://127.0.0.1:9/elsewhere")]),
        with(&params, &[("redirect_uri", "")]),
        with(&params, &[("client_id", "nobody")]),
    ] {
        let response = authorize(refused.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{refused:?}");
        assert!(response.headers().get(LOCATION).is_none());
        assert!(response.text().await.unwrap().contains("not valid"));
    }

    // Other errors go back to the client, with the state.
    for (changes, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("resource", "http://127.0.0.1:9/other")], "invalid_target"),
        (vec![("scope", "mcp admin")], "invalid_scope"),
    ] {
        let response = authorize(with(&params, &changes)).await;
        let pairs = redirected(&response);
        assert_eq!(param(&pairs, "error"), Some(error), "{changes:?}");
        assert!(param(&pairs, "error_description").is_some());
        assert_eq!(param(&pairs, "state"), Some("st&te 1"));
        assert_eq!(param(&pairs, "code"), None);
    }
    let resource = format!("{base}/mcp");
    let ours = authorize(with(&params, &[("resource", &resource)])).await;
    assert_eq!(ours.status(), StatusCode::OK, "this server's resource is taken");
    assert_eq!(stats(&base).await["codes_issued"], 0);
}

#[tokio::test]
async fn the_user_allows_or_denies_and_a_code_gives_tokens_once() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "Chat").await;
    let params = request(&client_id, &pkce_challenge(VERIFIER));
    let authorize = format!("{base}/authorize");

    let deny = post_form(&authorize, &with(&params, &[("decision", "deny")])).await;
    let pairs = redirected(&deny);
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert_eq!(param(&pairs, "state"), Some("st&te 1"));
    let nameless = post_form(&authorize, &with(&params, &[("username", " "), ("decision", "allow")])).await;
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST);
    assert!(nameless.text().await.unwrap().contains("Please enter your name."));
    let tampered =
        with(&params, &[("username", "ada"), ("decision", "allow"), ("code_challenge_method", "plain")]);
    let pairs = redirected(&post_form(&authorize, &tampered).await);
    assert_eq!(param(&pairs, "error"), Some("invalid_request"), "the form is checked again");

    let code = sign_in(&base, &client_id, "Ada Lovelace").await;
    let (status, error) =
        exchange(&base, &client_id, &code, "a-wrong-verifier-that-is-long-enough-for-pkce-000").await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");
    let (status, error) = exchange(&base, "nobody", &code, VERIFIER).await;
    assert_eq!((status, &error["error"]), (StatusCode::UNAUTHORIZED, &json!("invalid_client")), "{error}");
    let (status, tokens) = exchange(&base, &client_id, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "a refused attempt does not spend the code: {tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "mcp");
    let access_token = text(&tokens, "access_token");
    assert_ne!(access_token, text(&tokens, "refresh_token"));

    // An MCP client with the token: the server knows who it is.
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(&access_token);
    let transport = StreamableHttpClientTransport::with_client(http(), config);
    let client = ().serve(transport).await.expect("the MCP handshake succeeds");
    let whoami = client.call_tool(CallToolRequestParams::new("whoami")).await.unwrap();
    assert_eq!(whoami.is_error, Some(false));
    let answer = &whoami.content[0].as_text().unwrap().text;
    assert!(answer.starts_with("You are Ada Lovelace"), "{answer}");
    client.cancel().await.unwrap();

    let (status, challenge) = mcp(&base, Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));

    // The code again: refused, and what it gave is revoked.
    let (status, error) = exchange(&base, &client_id, &code, VERIFIER).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");
    assert_eq!(mcp(&base, Some(&access_token)).await.0, StatusCode::UNAUTHORIZED);
    let (status, error) = refresh(&base, &client_id, &text(&tokens, "refresh_token")).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");
    assert_eq!(
        stats(&base).await,
        json!({"registrations": 1, "codes_issued": 1, "tokens_issued": 1, "refreshes": 0,
               "reuses_detected": 1, "families_revoked": 1})
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_refresh_token_revokes_its_family() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "Chat").await;
    let first = tokens_for(&base, &client_id, "ada").await;
    let other_family = tokens_for(&base, &client_id, "bob").await;

    let (status, second) = refresh(&base, &client_id, &text(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(text(&second, "access_token"), text(&first, "access_token"));
    assert_ne!(text(&second, "refresh_token"), text(&first, "refresh_token"));
    assert_eq!(second["expires_in"], 3600);
    assert_eq!(mcp(&base, Some(&text(&second, "access_token"))).await.0, StatusCode::OK);
    assert_eq!(
        mcp(&base, Some(&text(&first, "access_token"))).await.0,
        StatusCode::OK,
        "valid until it expires"
    );
    let (status, error) = refresh(&base, "nobody", &text(&second, "refresh_token")).await;
    assert_eq!((status, &error["error"]), (StatusCode::UNAUTHORIZED, &json!("invalid_client")));
    let (status, error) = refresh(&base, &client_id, "never-issued").await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));

    // The rotated-away token again: someone holds a copy, so the whole family goes.
    let (status, error) = refresh(&base, &client_id, &text(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error,
        json!({"error": "invalid_grant", "error_description": "refresh token reused: its family is revoked"})
    );
    assert_eq!(mcp(&base, Some(&text(&second, "access_token"))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(mcp(&base, Some(&text(&first, "access_token"))).await.0, StatusCode::UNAUTHORIZED);
    let (status, error) = refresh(&base, &client_id, &text(&second, "refresh_token")).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");

    // Another sign-in's tokens are untouched.
    assert_eq!(mcp(&base, Some(&text(&other_family, "access_token"))).await.0, StatusCode::OK);
    let (status, _) = refresh(&base, &client_id, &text(&other_family, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stats(&base).await,
        json!({"registrations": 1, "codes_issued": 2, "tokens_issued": 4, "refreshes": 2,
               "reuses_detected": 1, "families_revoked": 1})
    );
}

#[tokio::test]
async fn the_token_endpoint_explains_what_is_wrong() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "Chat").await;
    let code = sign_in(&base, &client_id, "ada").await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("client_id", &client_id)], "invalid_request"),
        (&[("grant_type", "password"), ("client_id", &client_id)], "unsupported_grant_type"),
        (
            &[("grant_type", "authorization_code"), ("client_id", &client_id), ("code", &code)],
            "invalid_request",
        ),
        (
            &[("grant_type", "refresh_token"), ("client_id", &client_id), ("resource", "http://x/mcp")],
            "invalid_target",
        ),
        (&[("grant_type", "authorization_code"), ("code", &code)], "invalid_request"),
    ];
    for (pairs, expected) in cases {
        let (status, error) = token(&base, pairs).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some(expected)), "{pairs:?}");
    }
    let json = http().post(format!("{base}/token")).header(CONTENT_TYPE, "application/json").body("{}");
    let response = json.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(error["error"], "invalid_request");
}

#[tokio::test]
async fn an_access_token_is_refused_once_it_expires() {
    let life = Duration::from_secs(2);
    let base = start(life).await;
    let client_id = register(&base, "Chat").await;
    let tokens = tokens_for(&base, &client_id, "ada").await;
    assert_eq!(tokens["expires_in"], 2);
    let access_token = text(&tokens, "access_token");
    assert_eq!(mcp(&base, Some(&access_token)).await.0, StatusCode::OK);

    tokio::time::sleep(life + Duration::from_millis(1500)).await;
    let (status, challenge) = mcp(&base, Some(&access_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    // The refresh token outlives it.
    let (status, fresh) = refresh(&base, &client_id, &text(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(mcp(&base, Some(&text(&fresh, "access_token"))).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_resource_reached_through_a_proxy_is_the_one_named_and_accepted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = "https://tools.example/time/mcp";
    let options = mcp_time::oauth::Options { token_life: Duration::from_secs(60) };
    tokio::spawn(mcp_time::serve_oauth_for(listener, Duration::ZERO, options, resource));

    let metadata = get_json(&format!("{base}/.well-known/oauth-protected-resource/time/mcp")).await;
    assert_eq!(metadata["resource"], resource);
    assert_eq!(metadata["authorization_servers"], json!([base]));
    let challenge = mcp(&base, None).await.1.unwrap();
    let expected =
        "resource_metadata=\"https://tools.example/.well-known/oauth-protected-resource/time/mcp\"";
    assert!(challenge.contains(expected), "{challenge}");

    let client_id = register(&base, "Chat").await;
    let params = request(&client_id, &pkce_challenge(VERIFIER));
    let local = format!("{base}/mcp");
    for (named, status) in [(resource, StatusCode::OK), (local.as_str(), StatusCode::SEE_OTHER)] {
        let url = format!("{base}/authorize?{}", form(&with(&params, &[("resource", named)])));
        assert_eq!(http().get(url).send().await.unwrap().status(), status, "{named}");
    }
}
