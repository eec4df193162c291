//! The token endpoint and its companions, driven by an independent OAuth client (the `oauth2`
//! crate), so the wire format is checked by someone else's parser.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenIntrospectionResponse};
use oauth2::{
    AuthType, ClientId, EndpointNotSet, EndpointSet, RequestTokenError, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, status_json};
use common::both_backends;

type Client = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn oauth_client(app: &TestApp) -> Client {
    BasicClient::new(ClientId::new("openchat-web".into()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(app.url("/auth/token")).unwrap())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn claims_of(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut decode =
        || serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (decode(), decode())
}

both_backends!(
    password_grant_through_an_oauth_client,
    refresh_rotates_and_replay_revokes_the_family,
    parallel_refreshes_never_leave_two_live_families,
    revocation_ends_the_session,
    introspection_reports_active_and_inactive,
    error_responses_follow_rfc_6749,
    logout_ends_the_session,
    discovery_documents_and_jwks,
    key_rotation_keeps_old_tokens_valid,
    seed_clients_without_grant_type_still_log_in,
    revocation_feed_lists_cut_offs,
    a_wrong_client_cannot_use_up_a_refresh_token,
    token_exchange_mints_a_token_for_one_mcp_server_alone,
);

async fn password_grant_through_an_oauth_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice").await;
    let token = oauth_client(&app)
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("chat".into()))
        .request_async(&http())
        .await
        .expect("the oauth2 crate accepts our token response");
    assert_eq!(token.expires_in().unwrap().as_secs(), 900);
    assert!(token.refresh_token().is_some());
    let scopes: Vec<_> = token.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["openid", "chat"]);
    let (header, claims) = claims_of(token.access_token().secret());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    assert!(header["kid"].is_string());
    for claim in
        ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "roles", "preferred_username"]
    {
        assert!(claims.get(claim).is_some(), "claim {claim} missing: {claims}");
    }
    assert_eq!(claims["client_id"], "openchat-web");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["roles"], json!(["user"]));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);
    let (status, me) = app.get_json("/users/me", token.access_token().secret()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], claims["sub"]);
}

async fn refresh_rotates_and_replay_revokes_the_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("bob").await;
    let client = oauth_client(&app);
    let first = client
        .exchange_password(
            &ResourceOwnerUsername::new("bob".into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .request_async(&http())
        .await
        .unwrap();
    let r1 = first.refresh_token().unwrap().clone();
    let second = client.exchange_refresh_token(&r1).request_async(&http()).await.expect("refresh works");
    let r2 = second.refresh_token().unwrap().clone();
    assert_ne!(r1.secret(), r2.secret(), "refresh tokens rotate");
    assert_eq!(app.get("/users/me", second.access_token().secret()).await.status(), StatusCode::OK);

    // Replaying r1 (as a thief would) fails and ends the whole family, r2 included.
    match client.exchange_refresh_token(&r1).request_async(&http()).await {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant)
        }
        other => panic!("replay must be invalid_grant, got {other:?}"),
    }
    match client.exchange_refresh_token(&r2).request_async(&http()).await {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant)
        }
        other => panic!("the family must be revoked, got {other:?}"),
    }
    assert_eq!(app.get("/users/me", second.access_token().secret()).await.status(), StatusCode::UNAUTHORIZED);
    let admin = app.user_with_roles("root", &["admin"]).await;
    let (_, log) = app.get_json("/audit?event=refresh_token_reuse", &admin.access_token).await;
    assert_eq!(log["total"], 1);
}

async fn parallel_refreshes_never_leave_two_live_families(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("carl").await;
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let request = app
                .client
                .post(app.url("/auth/token"))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", tokens.refresh_token.as_str())]);
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (status, body) = status_json(attempt.await.unwrap()).await;
        if status == StatusCode::OK {
            winners.push(body["refresh_token"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(body["error"], "invalid_grant");
        }
    }
    assert!(winners.len() <= 1, "{} refreshes won", winners.len());
    // The losers counted as reuse, so whatever won is revoked too: no live family remains.
    for token in winners {
        assert_eq!(app.refresh(&token).await.status(), StatusCode::BAD_REQUEST);
    }
}

async fn revocation_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("dana").await;
    // (The oauth2 crate refuses to revoke over plain http, so this one is sent by hand, in
    // the RFC 7009 shape that crate would use.)
    let response = app
        .client
        .post(app.url("/auth/revoke"))
        .form(&[
            ("token", tokens.refresh_token.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", "openchat-web"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.refresh(&tokens.refresh_token).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/users/me", &tokens.access_token).await.status(), StatusCode::UNAUTHORIZED);
    // Unknown tokens are fine too (RFC 7009 §2.2).
    let response =
        app.client.post(app.url("/auth/revoke")).form(&[("token", "not-a-token")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    // Revoking by access token ends that session as well.
    let other = app.login("dana", PASSWORD).await;
    let response = app
        .client
        .post(app.url("/auth/revoke"))
        .form(&[("token", other.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.refresh(&other.refresh_token).await.status(), StatusCode::BAD_REQUEST);
}

async fn introspection_reports_active_and_inactive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let eve = app.user("eve").await;
    let fay = app.user("fay").await;
    let introspect = |caller: String, token: String| {
        let request =
            app.client.post(app.url("/auth/introspect")).bearer_auth(caller).form(&[("token", token)]);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        }
    };
    let own = introspect(eve.access_token.clone(), eve.access_token.clone()).await;
    let parsed: BasicTokenIntrospectionResponse = serde_json::from_str(&own).expect("oauth2 parses it");
    assert!(parsed.active());
    assert_eq!(parsed.username(), Some("eve"));
    let refresh = introspect(eve.access_token.clone(), eve.refresh_token.clone()).await;
    let refresh: Value = serde_json::from_str(&refresh).unwrap();
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["token_type"], "refresh_token");

    // Someone else's token, garbage, and revoked tokens are all exactly {"active":false}.
    assert_eq!(introspect(eve.access_token.clone(), fay.access_token.clone()).await, r#"{"active":false}"#);
    assert_eq!(introspect(eve.access_token.clone(), "garbage".into()).await, r#"{"active":false}"#);
    let admin = app.user_with_roles("root", &["admin"]).await;
    let as_admin: Value =
        serde_json::from_str(&introspect(admin.access_token.clone(), fay.access_token.clone()).await)
            .unwrap();
    assert_eq!(as_admin["active"], true);
    app.refresh(&fay.refresh_token).await;
    assert_eq!(
        introspect(admin.access_token.clone(), fay.refresh_token.clone()).await,
        r#"{"active":false}"#,
        "used refresh token"
    );

    let anonymous = app
        .client
        .post(app.url("/auth/introspect"))
        .form(&[("token", eve.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
}

async fn error_responses_follow_rfc_6749(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("gil").await;
    let wrong = app.token_request(&[("username", "gil"), ("password", "not-the-password")]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    assert_eq!(wrong.headers()["cache-control"], "no-store");
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app.token_request(&[("username", "nobody"), ("password", "not-the-password")]).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.text().await.unwrap(), wrong_body, "byte-identical for unknown user");
    let empty = app.token_request(&[("username", "gil"), ("password", "")]).await;
    assert_eq!(empty.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(empty.text().await.unwrap(), wrong_body);
    let body: Value = serde_json::from_str(&wrong_body).unwrap();
    assert_eq!(
        body,
        json!({"detail": "Incorrect username or password", "error": "invalid_grant", "error_description": "Incorrect username or password"})
    );

    let (status, body) = status_json(app.token_request(&[("grant_type", "client_credentials")]).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, body) =
        status_json(app.token_request(&[("grant_type", "password"), ("username", "gil")]).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let (status, body) = status_json(
        app.token_request(&[("username", "gil"), ("password", PASSWORD), ("scope", "admin")]).await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
    let (status, body) = status_json(app.refresh("never-issued").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let json_body =
        app.client.post(app.url("/auth/token")).json(&json!({"username": "gil"})).send().await.unwrap();
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body.headers()["cache-control"], "no-store");
    let ok = app.token_request(&[("username", "gil"), ("password", PASSWORD)]).await;
    assert_eq!(ok.headers()["cache-control"], "no-store");
    assert_eq!(ok.headers()["pragma"], "no-cache");
}

async fn logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = app.user("hal").await;
    let other = app.login("hal", PASSWORD).await;
    let response =
        app.client.post(app.url("/auth/logout")).bearer_auth(&session.access_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.get("/users/me", &session.access_token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.refresh(&session.refresh_token).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/users/me", &other.access_token).await.status(),
        StatusCode::OK,
        "other sessions live on"
    );
    let anonymous = app.client.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn discovery_documents_and_jwks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, meta) =
        status_json(app.client.get(app.url("/.well-known/oauth-authorization-server")).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["issuer"], "http://localhost:8001");
    assert!(meta["token_endpoint"].as_str().unwrap().ends_with("/auth/token"));
    assert_eq!(
        meta["grant_types_supported"],
        json!(["password", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"])
    );
    let (_, oidc) =
        status_json(app.client.get(app.url("/.well-known/openid-configuration")).send().await.unwrap()).await;
    assert_eq!(oidc["jwks_uri"], meta["jwks_uri"]);
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
    let (_, jwks) =
        status_json(app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert!(keys[0].get("d").is_none(), "no private material");
    let (_, openapi) = status_json(app.client.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert!(openapi["paths"]["/auth/token"]["post"].is_object());
    assert!(openapi["paths"]["/users/{username}"]["put"].is_object());
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("/openapi.json"));
}

async fn key_rotation_keeps_old_tokens_valid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.user("ian").await;
    let (old_header, _) = claims_of(&before.access_token);
    let a = &app.config.auth;
    auth::admin::rotate_keys(&app.db, &a.issuer, &a.audience, a.access_token_ttl_secs).await.unwrap();
    // The running server has not reloaded yet, but an unknown kid on a token makes it reload,
    // and the old key stays published until its tokens expire.
    let after_login = app.login("ian", PASSWORD).await;
    assert_eq!(app.get("/users/me", &before.access_token).await.status(), StatusCode::OK);
    let restarted = TestApp::start(app.stop().await).await;
    let after = restarted.login("ian", PASSWORD).await;
    let (new_header, _) = claims_of(&after.access_token);
    assert_ne!(old_header["kid"], new_header["kid"]);
    assert_eq!(restarted.get("/users/me", &before.access_token).await.status(), StatusCode::OK);
    assert_eq!(restarted.get("/users/me", &after.access_token).await.status(), StatusCode::OK);
    assert_eq!(restarted.get("/users/me", &after_login.access_token).await.status(), StatusCode::OK);
    let (_, jwks) =
        status_json(restarted.client.get(restarted.url("/.well-known/jwks.json")).send().await.unwrap())
            .await;
    let kids: Vec<_> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
    assert!(kids.contains(&old_header["kid"]) && kids.contains(&new_header["kid"]), "{kids:?}");
}

async fn seed_clients_without_grant_type_still_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("joe").await;
    let response = app
        .client
        .post(app.url("/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=joe&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    for field in ["access_token", "expires_in", "refresh_token", "scope"] {
        assert!(body.get(field).is_some(), "{field} missing");
    }
}

async fn revocation_feed_lists_cut_offs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Not public: no secret, or a wrong one, is 401.
    for secret in [None, Some("guess")] {
        let mut request = app.client.get(app.url("/auth/revocations"));
        if let Some(secret) = secret {
            request = request.bearer_auth(secret);
        }
        let (status, error) = status_json(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{secret:?}");
        assert!(error["detail"].as_str().unwrap().contains("resource servers"), "{error}");
    }
    let secret = app.config.revocations_secret().unwrap();
    let (_, empty) =
        status_json(app.client.get(app.url("/auth/revocations")).bearer_auth(&secret).send().await.unwrap())
            .await;
    assert_eq!(empty["revocations"], json!([]));
    let since = empty["next"].as_i64().unwrap();
    let session = app.user("kim").await;
    let (_, me) = app.get_json("/users/me", &session.access_token).await;
    app.client.post(app.url("/auth/logout")).bearer_auth(&session.access_token).send().await.unwrap();
    let again = app.login("kim", PASSWORD).await;
    app.put("/users/kim", &again.access_token, json!({"password": "a-changed-password"})).await;
    let feed_url = app.url(&format!("/auth/revocations?since={since}"));
    let (status, feed) =
        status_json(app.client.get(feed_url).bearer_auth(&secret).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let entries = feed["revocations"].as_array().unwrap();
    let (_, session_claims) = claims_of(&session.access_token);
    assert!(
        entries.iter().any(|e| e["kind"] == "session" && e["subject"] == session_claims["sid"]),
        "{feed}"
    );
    let cut =
        entries.iter().find(|e| e["kind"] == "user" && e["subject"] == me["id"]).expect("a user cut-off");
    assert!(cut["not_before"].as_i64().unwrap() > session_claims["iat"].as_i64().unwrap());
    assert!(!entries.iter().any(|e| e["subject"] == "kim"), "ids and instants only, no names");
}

async fn a_wrong_client_cannot_use_up_a_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("lou").await;
    let form = [("username", "lou"), ("password", PASSWORD), ("client_id", "openchat-web")];
    let (_, tokens) = status_json(app.token_request(&form).await).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let wrong = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "evil-app")];
    let (status, body) = status_json(app.token_request(&wrong).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let right = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "openchat-web")];
    assert_eq!(app.token_request(&right).await.status(), StatusCode::OK, "the session survived");
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const MCP_URL: &str = "https://tools.example.com/mcp";

/// The chat service's exchange of `subject` for a token of `resource`, with `secret`.
async fn exchange(app: &TestApp, secret: &str, subject: &str, resource: &str) -> (StatusCode, Value) {
    exchange_with(app, &[("client_secret", secret), ("subject_token", subject), ("resource", resource)]).await
}

/// A token exchange request, its fields as `fields` says over the chat service's defaults.
async fn exchange_with(app: &TestApp, fields: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", EXCHANGE),
        ("client_id", "openchat-chat"),
        ("subject_token_type", ACCESS_TOKEN),
        ("scope", "mcp"),
    ];
    for &(name, value) in fields {
        form.retain(|&(n, _)| n != name);
        form.push((name, value));
    }
    status_json(app.token_request(&form).await).await
}

async fn token_exchange_mints_a_token_for_one_mcp_server_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let secret = app.config.revocations_secret().unwrap();
    let session = app.user("mia").await;
    let (status, minted) = exchange(&app, &secret, &session.access_token, MCP_URL).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!(minted["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(minted["token_type"], "Bearer");
    assert_eq!(minted["expires_in"], 300);
    assert_eq!(minted["scope"], "mcp");
    assert!(minted.get("refresh_token").is_none(), "{minted}");
    let token = minted["access_token"].as_str().unwrap();
    let (_, claims) = claims_of(token);
    let (_, user) = claims_of(&session.access_token);
    assert_eq!(claims["aud"], MCP_URL);
    assert_eq!(claims["scope"], "mcp");
    assert_eq!(claims["sub"], user["sub"]);
    assert_eq!(claims["preferred_username"], "mia");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    // Good nowhere else: this server (the chat service's audience) refuses it.
    let (status, _) = app.get_json("/users/me", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A minted token is no subject: it was not issued for the chat service.
    let (status, error) = exchange(&app, &secret, token, MCP_URL).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // Only the chat service exchanges: no secret, a wrong one, or another client is 401.
    for wrong in ["", "guess"] {
        let (status, error) = exchange(&app, wrong, &session.access_token, MCP_URL).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
        assert_eq!(error["error"], "invalid_client");
    }
    let other_client = [
        ("client_id", "openchat-web"),
        ("client_secret", secret.as_str()),
        ("subject_token", session.access_token.as_str()),
        ("resource", MCP_URL),
    ];
    let (status, _) = exchange_with(&app, &other_client).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The audience must be a web URL; the scope mcp alone.
    for bad in ["/mcp", "ftp://tools.example.com/mcp", "https://tools.example.com/mcp#x"] {
        let (status, error) = exchange(&app, &secret, &session.access_token, bad).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_target")),
            "{bad}"
        );
    }
    let wider = [
        ("client_secret", secret.as_str()),
        ("subject_token", session.access_token.as_str()),
        ("resource", MCP_URL),
        ("scope", "mcp chat"),
    ];
    let (status, error) = exchange_with(&app, &wider).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let (status, _) = exchange(&app, &secret, "not.a.token", MCP_URL).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A session that ended, or a user switched off, can no longer be vouched for.
    app.client.post(app.url("/auth/logout")).bearer_auth(&session.access_token).send().await.unwrap();
    let (status, error) = exchange(&app, &secret, &session.access_token, MCP_URL).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let admin = app.user_with_roles("root", &["admin"]).await;
    let again = app.login("mia", PASSWORD).await;
    let (status, _) = exchange(&app, &secret, &again.access_token, MCP_URL).await;
    assert_eq!(status, StatusCode::OK);
    let response = app.put("/users/mia", &admin.access_token, json!({"is_active": false})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, error) = exchange(&app, &secret, &again.access_token, MCP_URL).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}
