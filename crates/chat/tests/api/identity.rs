//! A server that needs to know the user (`config.identity`) gets a token the auth server minted
//! for it alone, never the user's own: the example server (`mcp-time --issuer`) checks it as a
//! resource server does, and the misbehaving one shows exactly what it was sent.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat};
use crate::mcp_server;
use crate::tools::{of_type, register, reply};
use common::both_backends;

both_backends!(
    a_server_that_needs_to_know_the_user_gets_a_token_for_it_alone,
    identity_and_a_secret_cannot_share_a_header,
    the_configured_token_endpoint_is_the_one_used,
);

pub(crate) fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_server_that_needs_to_know_the_user_gets_a_token_for_it_alone(backend: Backend) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let time_url = format!("http://127.0.0.1:{port}/mcp");
    let (odd_url, odd) = mcp_server::start().await;
    let odd_host = odd_url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.tools.allowed_hosts = vec![format!("127.0.0.1:{port}"), odd_host];
    })
    .await;
    let jwks = format!("{}/.well-known/jwks.json", app.auth);
    let identity = mcp_time::identity::Identity::new(&jwks, &app.config.auth.issuer, &time_url);
    tokio::spawn(mcp_time::serve_with(listener, Duration::ZERO, Some(identity)));
    let alice = app.user("alice").await;

    // The server takes no request without a token for it: not without one, and not the
    // user's own (passing it through could never work).
    let plain = register(&app, &alice, json!({"name": "Plain", "server_url": time_url})).await;
    let (status, error) = app.post(&format!("/api/v1/mcp-servers/{plain}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let direct = app
        .client
        .post(&time_url)
        .bearer_auth(&alice)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::UNAUTHORIZED);
    let challenge = direct.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // The challenge names its protected resource metadata (RFC 9728), which names the auth
    // server that vouches for its callers.
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
    let metadata: Value = app.client.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], json!(time_url));
    assert_eq!(metadata["authorization_servers"], json!([app.config.auth.issuer]));
    assert_eq!(metadata["scopes_supported"], json!(["mcp"]));

    // With `identity`, the test connection and a reply's call reach it, as alice.
    let body = json!({"name": "Clock", "server_url": time_url, "config": {"identity": true}});
    let clock = register(&app, &alice, body).await;
    let (status, server) = app.get(&format!("/api/v1/mcp-servers/{clock}"), &alice).await;
    assert_eq!((status, &server["config"]["identity"]), (StatusCode::OK, &json!(true)));
    let (status, tools) = app.post(&format!("/api/v1/mcp-servers/{clock}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{tools}");
    let names: Vec<_> = tools["tools"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect();
    assert!(names.contains(&json!("whoami")), "{tools}");
    let body = json!({"is_active": false});
    let (status, _) = app.put(&format!("/api/v1/mcp-servers/{plain}"), &alice, body).await;
    assert_eq!(status, StatusCode::OK);
    let frames = reply(&app, &alice, "alice", "[[call=whoami {}]]").await;
    let done = of_type(&frames, "tool_call_done");
    assert_eq!(done.len(), 1, "{frames:?}");
    let result = done[0]["call"]["result"].as_str().unwrap_or_default();
    assert!(result.starts_with("You are alice (user "), "{frames:?}");

    // What such a server receives: a token whose audience is its own URL, scope mcp, five
    // minutes, naming the user; never the user's own token.
    let body = json!({"name": "Odd", "server_url": odd_url, "config": {"identity": true}});
    let watched = register(&app, &alice, body).await;
    let (status, _) = app.post(&format!("/api/v1/mcp-servers/{watched}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let sent = odd.authorization.lock().unwrap().clone().expect("an Authorization header");
    let token = sent.strip_prefix("Bearer ").expect("a bearer token");
    assert_ne!(token, alice);
    let (claims, own) = (claims_of(token), claims_of(&alice));
    assert_eq!(claims["aud"], json!(odd_url));
    assert_eq!(claims["scope"], "mcp");
    assert_eq!(claims["sub"], own["sub"]);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    // It is good nowhere else: the chat service itself refuses it.
    let (status, _) = app.get("/api/v1/mcp-servers/", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A secret in a header of its own goes beside it.
    let body = json!({"secret": "k3y", "config": {"identity": true, "secret_header": "X-Api-Key"}});
    let (status, _) = app.put(&format!("/api/v1/mcp-servers/{watched}"), &alice, body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.post(&format!("/api/v1/mcp-servers/{watched}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(odd.api_key.lock().unwrap().as_deref(), Some("k3y"));
    let sent = odd.authorization.lock().unwrap().clone().unwrap_or_default();
    assert_eq!(claims_of(sent.trim_start_matches("Bearer "))["aud"], json!(odd_url));

    // Without the auth server, such a server cannot be used (by one who holds no token for it
    // yet), and says why.
    let bob = app.user("bob").await;
    let mut app = app;
    app.stop_auth().await;
    let body = json!({"name": "Odd", "server_url": odd_url, "config": {"identity": true}});
    let other = register(&app, &bob, body).await;
    let (status, error) = app.post(&format!("/api/v1/mcp-servers/{other}/test"), &bob, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("the auth server could not vouch for you"), "{error}");
}

async fn identity_and_a_secret_cannot_share_a_header(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let alice = app.user("alice").await;
    let url = "https://tools.example.com/mcp";
    // A secret in Authorization (the default header) and identity: refused, and why.
    let body =
        json!({"name": "Both", "server_url": url, "secret": "Bearer s3cret", "config": {"identity": true}});
    let (status, error) = app.post("/api/v1/mcp-servers/", &alice, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("config.secret_header"), "{error}");
    // The secret in a header of its own: accepted.
    let body = json!({"name": "Both", "server_url": url, "secret": "s3cret",
        "config": {"identity": true, "secret_header": "X-Api-Key"}});
    let (status, server) = app.post("/api/v1/mcp-servers/", &alice, body).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let id = server["id"].as_str().unwrap();
    // Moving the secret back to Authorization by a change is refused too; nothing changes.
    let body = json!({"config": {"identity": true}});
    let (status, error) = app.put(&format!("/api/v1/mcp-servers/{id}"), &alice, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (_, kept) = app.get(&format!("/api/v1/mcp-servers/{id}"), &alice).await;
    assert_eq!(kept["config"]["secret_header"], "X-Api-Key");
    // Dropping the secret makes it fine.
    let body = json!({"config": {"identity": true}, "secret": ""});
    let (status, changed) = app.put(&format!("/api/v1/mcp-servers/{id}"), &alice, body).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["has_secret"], false);

    // A user's own server cannot send who they are to the address of a server an administrator
    // offers (to a role they may not hold): a token for it would name them to it.
    let root = app.admin().await;
    let shared = "https://staff.example.com/mcp";
    let body = json!({"name": "Staff", "server_url": shared, "scope": "role", "role": "staff",
        "config": {"identity": true}});
    let (status, created) = app.post("/api/v1/admin/mcp-servers/", &root, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let body = json!({"name": "Mine", "server_url": shared, "config": {"identity": true}});
    let (status, error) = app.post("/api/v1/mcp-servers/", &alice, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("an administrator offers"), "{error}");
    let (status, error) =
        app.put(&format!("/api/v1/mcp-servers/{id}"), &alice, json!({"server_url": shared})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    // Without identity, the address is hers to register (it learns nothing of her).
    let body = json!({"name": "Mine", "server_url": shared});
    let (status, _) = app.post("/api/v1/mcp-servers/", &alice, body).await;
    assert_eq!(status, StatusCode::CREATED);
}

/// `chat.token_url` names where users' tokens are exchanged (here, where nothing listens): it is
/// used instead of the endpoint next to the JWKS URL, which would have worked.
async fn the_configured_token_endpoint_is_the_one_used(backend: Backend) {
    let (odd_url, odd) = mcp_server::start().await;
    let odd_host = odd_url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_url = format!("http://{}/auth/token", closed.local_addr().unwrap());
    drop(closed);
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.tools.allowed_hosts = vec![odd_host];
        config.chat.token_url = token_url;
    })
    .await;
    let alice = app.user("alice").await;
    let body = json!({"name": "Odd", "server_url": odd_url, "config": {"identity": true}});
    let id = register(&app, &alice, body).await;
    let (status, error) = app.post(&format!("/api/v1/mcp-servers/{id}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("could not vouch for you"), "{error}");
    assert_eq!(odd.requests.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the server");
}
