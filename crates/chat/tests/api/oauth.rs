//! A server that requires each user's own sign-in (`config.oauth`): the chat service finds its
//! authorization server and registers with it, a user's browser signs in there (PKCE, S256),
//! the code comes back through the web UI to the user who began, and the server's requests
//! carry that user's token, refreshed once as it expires. The server is the example one in its
//! `--oauth` mode: a real authorization server that rotates refresh tokens and revokes a
//! family whose refresh token is used twice.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat};
use crate::tools::{of_type, register, reply};
use common::both_backends;

both_backends!(
    a_user_signs_in_to_a_server_and_its_tools_run_as_them,
    a_sign_in_is_refreshed_once_and_ends_when_its_tokens_are_stolen,
    sign_in_settings_and_servers_without_metadata_are_refused,
);

/// The web UI's page a sign-in comes back to (the default `chat.cors_origins`).
const RETURN_TO: &str = "http://localhost:3000/tools/connected";

/// An example server with its own authorization server, whose tokens live `token_life`; its
/// base URL (`…/mcp` is the endpoint).
async fn time_server(token_life: Duration) -> (String, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = mcp_time::oauth::Options { token_life };
    tokio::spawn(mcp_time::serve_oauth(listener, Duration::ZERO, options));
    (format!("http://127.0.0.1:{port}"), port)
}

async fn start(backend: Backend, token_life: Duration) -> (TestChat, String) {
    let (base, port) = time_server(token_life).await;
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.tools.allowed_hosts = vec![format!("127.0.0.1:{port}")];
    })
    .await;
    (app, base)
}

/// What the authorization server counted.
async fn stats(app: &TestChat, base: &str) -> Value {
    app.client.get(format!("{base}/oauth/stats")).send().await.unwrap().json().await.unwrap()
}

/// "Connect": the address the browser is sent to.
async fn connect(app: &TestChat, token: &str, server: &str) -> String {
    let path = format!("/api/v1/mcp-servers/{server}/oauth/start");
    let (status, body) = app.post(&path, token, json!({"redirect_uri": RETURN_TO})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["authorization_url"].as_str().unwrap().to_owned()
}

/// The browser at the authorization server: the consent page, then "Allow" as `username`;
/// the `state` and `code` it is sent back with.
async fn consent(app: &TestChat, authorization_url: &str, username: &str) -> (String, String) {
    let page = app.client.get(authorization_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form"));
    let url = reqwest::Url::parse(authorization_url).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("username".into(), username.into()));
    form.push(("decision".into(), "allow".into()));
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = browser.post(url.join("/authorize").unwrap()).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let back = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.as_str().starts_with(RETURN_TO), "{back}");
    let param =
        |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    (param("state"), param("code"))
}

async fn finish(app: &TestChat, token: &str, state: &str, code: &str) -> (StatusCode, Value) {
    app.post("/api/v1/mcp-servers/oauth/callback", token, json!({"state": state, "code": code})).await
}

/// Connects `token`'s user to `server` as `username` at the authorization server.
async fn sign_in(app: &TestChat, token: &str, server: &str, username: &str) {
    let url = connect(app, token, server).await;
    let (state, code) = consent(app, &url, username).await;
    let (status, body) = finish(app, token, &state, &code).await;
    assert_eq!((status, &body["signed_in"]), (StatusCode::OK, &json!(true)), "{body}");
}

async fn test_connection(app: &TestChat, token: &str, server: &str) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/mcp-servers/{server}/test"), token, json!({})).await
}

fn whoami_result(frames: &[Value]) -> String {
    let done = of_type(frames, "tool_call_done");
    assert_eq!(done.len(), 1, "{frames:?}");
    done[0]["call"]["result"].as_str().or(done[0]["call"]["error"].as_str()).unwrap_or_default().to_owned()
}

async fn a_user_signs_in_to_a_server_and_its_tools_run_as_them(backend: Backend) {
    let (app, base) = start(backend, Duration::from_secs(3600)).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let body = json!({"name": "Clock", "server_url": format!("{base}/mcp"), "config": {"oauth": true}});
    let clock = register(&app, &alice, body).await;
    let (_, server) = app.get(&format!("/api/v1/mcp-servers/{clock}"), &alice).await;
    assert_eq!(server["signed_in"], json!(false));

    // Before a sign-in the server cannot be used, and says what to do.
    let (status, error) = test_connection(&app, &alice, &clock).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("sign in to this server first"), "{error}");

    // A sign-in comes back only to the web UI.
    let path = format!("/api/v1/mcp-servers/{clock}/oauth/start");
    let (status, error) = app.post(&path, &alice, json!({"redirect_uri": "https://evil.example/cb"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    // The chat service registered itself (RFC 7591) and sends the browser with PKCE (S256)
    // and the server's URL as the resource (RFC 8707).
    let url = connect(&app, &alice, &clock).await;
    let parsed = reqwest::Url::parse(&url).unwrap();
    assert_eq!(parsed.as_str().split('?').next(), Some(format!("{base}/authorize").as_str()));
    let param = |name: &str| parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("resource"), Some(format!("{base}/mcp")));
    assert_eq!(param("redirect_uri").as_deref(), Some(RETURN_TO));
    assert_eq!(param("code_challenge").map(|c| c.len()), Some(43));
    assert_eq!(stats(&app, &base).await["registrations"], 1);
    let (state, code) = consent(&app, &url, "alice-at-time").await;

    // Only the user who began it may end it (bob's attempt does not use it up), and only once.
    let (status, error) = finish(&app, &bob, &state, &code).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, server) = finish(&app, &alice, &state, &code).await;
    assert_eq!((status, &server["signed_in"]), (StatusCode::OK, &json!(true)), "{server}");
    let (status, error) = finish(&app, &alice, &state, &code).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");

    // Its tools run as the account alice signed in with; her tokens are stored sealed.
    let (status, tools) = test_connection(&app, &alice, &clock).await;
    assert_eq!(status, StatusCode::OK, "{tools}");
    let frames = reply(&app, &alice, "alice", "[[call=whoami {}]]").await;
    assert!(whoami_result(&frames).starts_with("You are alice-at-time"), "{frames:?}");
    let sub = crate::identity::claims_of(&alice)["sub"].as_str().unwrap().to_owned();
    let stored = app.chat_state.db.oauth_tokens(&clock, &sub).await.unwrap().expect("tokens stored");
    assert!(stored.access_token.starts_with("v1."), "sealed");
    assert!(stored.refresh_token.unwrap().starts_with("v1."), "sealed");
    // A second sign-in reuses the registration.
    sign_in(&app, &alice, &clock, "alice-again").await;
    assert_eq!(stats(&app, &base).await["registrations"], 1);

    // "Disconnect" forgets it: the server is unusable again until the next sign-in.
    assert_eq!(
        app.delete(&format!("/api/v1/mcp-servers/{clock}/oauth"), &alice).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("/api/v1/mcp-servers/{clock}/oauth"), &alice).await,
        StatusCode::NOT_FOUND
    );
    let (status, _) = test_connection(&app, &alice, &clock).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);

    // A new address forgets every sign-in (tokens are bound to the old one): a sign-in, then a
    // move, then the server asks again.
    sign_in(&app, &alice, &clock, "alice-at-time").await;
    let moved = json!({"server_url": format!("{base}/mcp/")});
    let (status, server) = app.put(&format!("/api/v1/mcp-servers/{clock}"), &alice, moved).await;
    assert_eq!((status, &server["signed_in"]), (StatusCode::OK, &json!(false)), "{server}");
}

async fn a_sign_in_is_refreshed_once_and_ends_when_its_tokens_are_stolen(backend: Backend) {
    let life = Duration::from_secs(6);
    let (app, base) = start(backend, life).await;
    let alice = app.user("alice").await;
    let body = json!({"name": "Clock", "server_url": format!("{base}/mcp"), "config": {"oauth": true}});
    let clock = register(&app, &alice, body).await;
    sign_in(&app, &alice, &clock, "alice-at-time").await;
    let (status, _) = test_connection(&app, &alice, &clock).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats(&app, &base).await["refreshes"], 0);

    // Past half its life the token is renewed before use, once for replies that need it at once.
    tokio::time::sleep(life / 2 + Duration::from_millis(200)).await;
    let replies = (0..3).map(|_| reply(&app, &alice, "alice", "[[call=whoami {}]]"));
    for frames in futures_util::future::join_all(replies).await {
        assert!(whoami_result(&frames).starts_with("You are alice-at-time"), "{frames:?}");
    }
    let counted = stats(&app, &base).await;
    assert_eq!((&counted["refreshes"], &counted["reuses_detected"]), (&json!(1), &json!(0)), "{counted}");

    // Someone else redeems the stored refresh token (it was stolen): the authorization server
    // rotates it, so the chat service's next renewal presents a used one, which revokes the
    // family. The sign-in has ended, and alice is told to connect again.
    let sub = crate::identity::claims_of(&alice)["sub"].as_str().unwrap().to_owned();
    let stored = app.chat_state.db.oauth_tokens(&clock, &sub).await.unwrap().unwrap();
    let sealer = chat::tools::secrets::Sealer::new(&app.config.secrets_key().unwrap());
    let context = format!("{clock}:{sub}:refresh");
    let refresh = sealer.open(&context, &stored.refresh_token.unwrap()).unwrap();
    let client_id = app.chat_state.db.oauth_client(&clock).await.unwrap().unwrap().client_id;
    let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)];
    let stolen = app.client.post(format!("{base}/token")).form(&form).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::OK);
    tokio::time::sleep(life / 2 + Duration::from_millis(200)).await;
    let (status, error) = test_connection(&app, &alice, &clock).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("connect again"), "{error}");
    assert_eq!(stats(&app, &base).await["reuses_detected"], 1);
    let (_, server) = app.get(&format!("/api/v1/mcp-servers/{clock}"), &alice).await;
    assert_eq!(server["signed_in"], json!(false));
}

async fn sign_in_settings_and_servers_without_metadata_are_refused(backend: Backend) {
    let (app, base) = start(backend, Duration::from_secs(3600)).await;
    let alice = app.user("alice").await;
    let url = format!("{base}/mcp");
    // Its token goes in Authorization: nothing else may.
    for config in [json!({"oauth": true, "identity": true}), json!({"oauth": true})] {
        let body = json!({"name": "Both", "server_url": url, "config": config, "secret": "Bearer k"});
        let (status, error) = app.post("/api/v1/mcp-servers/", &alice, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error.to_string().contains("config.oauth"), "{error}");
    }
    let body = json!({"name": "Keyed", "server_url": url, "secret": "k",
        "config": {"oauth": true, "secret_header": "X-Api-Key"}});
    register(&app, &alice, body).await;

    // A server that asks for no sign-in has none to start.
    let plain = register(&app, &alice, json!({"name": "Plain", "server_url": url})).await;
    let path = format!("/api/v1/mcp-servers/{plain}/oauth/start");
    let (status, error) = app.post(&path, &alice, json!({"redirect_uri": RETURN_TO})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");

    // One without OAuth metadata cannot be signed in to, and the answer says why.
    let (other, port) = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(mcp_time::serve(listener));
        (format!("http://127.0.0.1:{port}/mcp"), port)
    };
    let app = {
        let (config, fake) = app.stop().await;
        let mut config = config;
        config.chat.tools.allowed_hosts.push(format!("127.0.0.1:{port}"));
        TestChat::start(config, fake).await
    };
    let alice = app.login("alice").await;
    let bare =
        register(&app, &alice, json!({"name": "Bare", "server_url": other, "config": {"oauth": true}})).await;
    let path = format!("/api/v1/mcp-servers/{bare}/oauth/start");
    let (status, error) = app.post(&path, &alice, json!({"redirect_uri": RETURN_TO})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("metadata"), "{error}");

    // A code nobody issued, for a state nobody began.
    let (status, error) = finish(&app, &alice, "no-such-state", "no-such-code").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, _) = finish(&app, &alice, "", "x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
