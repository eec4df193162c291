//! The auth-server attacks of security.md, each asserting the refusal.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, status_json};
use common::both_backends;

both_backends!(
    unsigned_and_stripped_tokens_are_refused,
    hs256_with_our_public_key_is_refused,
    foreign_keys_are_refused,
    tampered_payloads_are_refused,
    bad_claims_are_refused_even_when_signed_by_us,
    brute_force_on_one_account_gets_delayed,
    an_attacker_cannot_lock_the_owner_out,
    a_login_flood_is_told_to_come_back_not_queued,
    a_distributed_attack_cannot_lock_the_owner_out,
    logins_by_email_share_the_accounts_answers_and_limits,
    parallel_guesses_cannot_outrun_the_limits,
    password_spraying_from_one_address_is_throttled_but_logins_are_not,
    spoofed_forwarded_for_does_not_dodge_limits,
    oversized_bodies_are_413,
    database_files_are_owner_only,
    sql_metacharacters_and_nul_bytes_are_harmless,
    look_alike_usernames_cannot_coexist,
    cors_allows_only_the_configured_origins,
);

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn split(token: &str) -> (Value, Value, String) {
    let parts: Vec<_> = token.split('.').collect();
    let decode = |p: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    (decode(parts[0]), decode(parts[1]), parts[2].to_owned())
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = app.get("/users/me", token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what} was accepted");
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"), "{what}");
}

/// Our active signing key, read from the database as only the server itself could.
async fn our_key(app: &TestApp) -> (String, EncodingKey, Vec<u8>) {
    let keys = app.db.signing_keys(0).await.unwrap();
    let key = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    (
        key.kid.clone(),
        EncodingKey::from_ed_der(&STANDARD.decode(&key.private_key).unwrap()),
        URL_SAFE_NO_PAD.decode(&key.public_key).unwrap(),
    )
}

fn sign(kid: &str, typ: &str, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(typ.into());
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn unsigned_and_stripped_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("alice").await;
    let (header, claims, _) = split(&tokens.access_token);
    let mut none = header.clone();
    none["alg"] = json!("none");
    assert_refused(&app, &format!("{}.{}.", b64(&none), b64(&claims)), "alg:none").await;
    assert_refused(&app, &format!("{}.{}", b64(&none), b64(&claims)), "alg:none without dot").await;
    assert_refused(&app, &format!("{}.{}.", b64(&header), b64(&claims)), "stripped signature").await;
}

async fn hs256_with_our_public_key_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("alice").await;
    let (_, claims, _) = split(&tokens.access_token);
    let (kid, _, public) = our_key(&app).await;
    for secret in [public.clone(), URL_SAFE_NO_PAD.encode(&public).into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(kid.clone());
        let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_refused(&app, &forged, "HS256 with the public key").await;
    }
}

async fn foreign_keys_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("alice").await;
    let (_, claims, _) = split(&tokens.access_token);
    let (kid, _, _) = our_key(&app).await;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let foreign = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let foreign = EncodingKey::from_ed_der(foreign.to_pkcs8_der().unwrap().as_bytes());
    assert_refused(&app, &sign("attacker-key", "at+jwt", &claims, &foreign), "unknown kid").await;
    assert_refused(&app, &sign(&kid, "at+jwt", &claims, &foreign), "foreign key under our kid").await;
    // A header pointing at the attacker's own key is never followed.
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.clone());
    header.jku = Some("https://evil.example/jwks.json".into());
    assert_refused(&app, &jsonwebtoken::encode(&header, &claims, &foreign).unwrap(), "jku header").await;
}

async fn tampered_payloads_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("alice").await;
    let (header, mut claims, signature) = split(&tokens.access_token);
    claims["roles"] = json!(["admin"]);
    let forged = format!("{}.{}.{signature}", b64(&header), b64(&claims));
    assert_refused(&app, &forged, "roles:[admin] with the original signature").await;
    assert_eq!(app.get("/users/", &forged).await.status(), StatusCode::UNAUTHORIZED);
}

async fn bad_claims_are_refused_even_when_signed_by_us(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("alice").await;
    let (_, claims, _) = split(&tokens.access_token);
    let (kid, key, _) = our_key(&app).await;
    // Control: re-signing the genuine claims is accepted, so the refusals below are about the claims.
    assert_eq!(app.get("/users/me", &sign(&kid, "at+jwt", &claims, &key)).await.status(), StatusCode::OK);
    let now = common::clock::now();
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let cases = [
        ("expired", with("exp", json!(now - 3600)), "at+jwt"),
        ("future nbf", with("nbf", json!(now + 3600)), "at+jwt"),
        ("missing exp", no_exp, "at+jwt"),
        ("wrong iss", with("iss", json!("https://evil.example")), "at+jwt"),
        ("wrong aud", with("aud", json!("another-api")), "at+jwt"),
        ("wrong typ", claims.clone(), "JWT"),
        ("unknown user", with("sub", json!("AAAAAAAAAAAAAAAA")), "at+jwt"),
        ("unknown session", with("sid", json!("forged-session")), "at+jwt"),
    ];
    for (what, claims, typ) in cases {
        assert_refused(&app, &sign(&kid, typ, &claims, &key), what).await;
    }
}

async fn brute_force_on_one_account_gets_delayed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.account_failures_before_delay = 3).await;
    app.user("victim").await;
    app.user("bystander").await;
    for _ in 0..3 {
        let response = app.token_request(&[("username", "victim"), ("password", "guess-guess")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password must wait from this client (it is the one failing),
    // answered at once with Retry-After.
    let response = app.token_request(&[("username", "Victim"), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    // Unknown accounts are limited the same way (no hint about which exist).
    for _ in 0..3 {
        app.token_request(&[("username", "ghost"), ("password", "guess-guess")]).await;
    }
    assert_eq!(
        app.token_request(&[("username", "ghost"), ("password", "x-guess")]).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other accounts are untouched.
    app.login("bystander", PASSWORD).await;
}

/// A client of its own: the server listens on 127.0.0.1 and this one connects from another
/// loopback address, so the server sees a different peer.
fn client_from(local: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(std::net::IpAddr::from(local)).build().unwrap()
}

async fn an_attacker_cannot_lock_the_owner_out(backend: Backend) {
    // Default limits: 10 failures per (account, client) before delays.
    let app = TestApp::spawn(backend).await;
    app.user("alice").await;
    let attacker = client_from([127, 0, 0, 2]);
    let guess = |password: &'static str| {
        attacker.post(app.url("/auth/token")).form(&[("username", "alice"), ("password", password)]).send()
    };
    for _ in 0..10 {
        assert_eq!(guess("wrong-password").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    // The owner, from her own client, logs in at once — several times.
    for _ in 0..3 {
        app.login("alice", PASSWORD).await;
    }
    // The attacker's client is throttled, even with the right password, with a reason.
    for password in ["wrong-password", PASSWORD] {
        let response = guess(password).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=15 * 60).contains(&retry), "{retry}");
        let (_, body) = status_json(response).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("this account from your address") && detail.contains("try again"),
            "{detail}"
        );
    }
    // The owner's success gave the attacker nothing back.
    assert_eq!(guess("wrong-password").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

/// One hashing slot and one place in the queue: of a burst of parallel logins, those that
/// find the queue full are answered at once with 503, `Retry-After` and a reason — not held —
/// and the server serves logins normally afterwards.
async fn a_login_flood_is_told_to_come_back_not_queued(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.auth.hash_concurrency = 1;
        c.auth.hash_queue_max = 1;
        c.auth.hash_queue_wait_secs = 30;
    })
    .await;
    app.user("steady").await;
    let flood: Vec<_> = (0..24)
        .map(|i| {
            let request = app
                .client
                .post(app.url("/auth/token"))
                .form(&[("username", format!("ghost{i}")), ("password", "wrong-password".to_owned())]);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                (response.status(), retry, response.text().await.unwrap())
            })
        })
        .collect();
    let (mut checked, mut busy) = (0, 0);
    for answer in flood {
        match answer.await.unwrap() {
            (StatusCode::UNAUTHORIZED, _, _) => checked += 1,
            (StatusCode::SERVICE_UNAVAILABLE, retry, body) => {
                busy += 1;
                let retry: u64 = retry.expect("Retry-After").parse().unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
                assert!(body.contains("busy checking passwords"), "{body}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(checked >= 1 && busy >= 1, "{checked} checked, {busy} busy");
    // A busy answer cost the client nothing: logins go on.
    app.login("steady", PASSWORD).await;
}

async fn a_distributed_attack_cannot_lock_the_owner_out(backend: Backend) {
    // Clients come through a proxy on loopback, which the server trusts for X-Forwarded-For.
    let app = TestApp::spawn_with(backend, |c| {
        c.auth.trusted_proxies = vec![[127, 0, 0, 1].into()].into();
        c.auth.account_failures_before_delay = 3;
        c.auth.account_failures_per_hour = 20;
    })
    .await;
    app.user("admin").await;
    let from = |client: String, password: &str| {
        app.client
            .post(app.url("/auth/token"))
            .header("x-forwarded-for", client)
            .form(&[("username", "admin"), ("password", password)])
            .send()
    };
    // 40 clients, each guessing until it is told to wait.
    let mut checked_per_client = Vec::new();
    for i in 0..40 {
        let mut checked = 0;
        loop {
            let response = from(format!("198.51.100.{i}"), "wrong-password").await.unwrap();
            match response.status() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => break,
                other => panic!("unexpected {other}"),
            }
            assert!(checked <= 3, "client {i} was never throttled");
        }
        checked_per_client.push(checked);
        // Meanwhile the owner, from a client that does not fail, is never refused.
        let response = from(format!("203.0.113.{}", i % 3), PASSWORD).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "owner refused after client {i}");
    }
    // Until the account was under attack each client had 3 tries; once it was, only one.
    assert_eq!(checked_per_client[0], 3);
    assert!(checked_per_client[10..].iter().all(|&n| n == 1), "{checked_per_client:?}");
    let total: usize = checked_per_client.iter().sum();
    assert!(total < 20 + 3 + 40, "{total} guesses were checked");
}

async fn password_spraying_from_one_address_is_throttled_but_logins_are_not(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.ip_failures_per_minute = 5).await;
    app.user("real").await;
    // A burst of legitimate logins (a classroom behind one NAT) is never refused.
    for _ in 0..12 {
        app.login("real", PASSWORD).await;
    }
    for i in 0..5 {
        let response =
            app.token_request(&[("username", &format!("user{i}")), ("password", "Summer2026!")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.token_request(&[("username", "user9"), ("password", "Summer2026!")]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let (_, body) = status_json(response).await;
    assert!(body["detail"].as_str().unwrap().contains("try again"));
}

async fn spoofed_forwarded_for_does_not_dodge_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.ip_failures_per_minute = 3).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    for i in 0..4 {
        let response = app
            .client
            .post(app.url("/auth/token"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[("username", format!("user{i}")), ("password", "wrong-password".into())])
            .send()
            .await
            .unwrap();
        let expected = if i < 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(response.status(), expected, "attempt {i}");
    }
    let (_, log) = app.get_json("/audit?event=login_failed", &admin.access_token).await;
    assert_eq!(log["total"], 3);
    for event in log["events"].as_array().unwrap() {
        assert_eq!(event["ip"], "127.0.0.1", "the socket address is recorded, not the header");
    }
}

async fn oversized_bodies_are_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let huge = "x".repeat(200 * 1024);
    let body = json!({"username": "big", "email": "b@example.com", "password": huge});
    let (status, error) =
        status_json(app.client.post(app.url("/users/")).json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error["detail"].as_str().unwrap().contains("too large"));
    let response = app.token_request(&[("username", "big"), ("password", huge.as_str())]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Under the body limit but over the password limit: refused without hashing.
    let long = "y".repeat(10_000);
    let response = app.token_request(&[("username", "big"), ("password", long.as_str())]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn sql_metacharacters_and_nul_bytes_are_harmless(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("alice").await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    let nasty = ["'; DROP TABLE users; --", "\" OR 1=1 --", "a\u{0}b", "%_\\", "\u{0}"];
    for value in nasty {
        for field in ["username", "email", "password", "full_name"] {
            let mut body = json!({"username": "mallory", "email": "m@example.com", "password": PASSWORD, "full_name": "M"});
            body[field] = json!(value);
            let response = app.client.post(app.url("/users/")).json(&body).send().await.unwrap();
            let status = response.status();
            assert!(status.is_client_error() || status == StatusCode::OK, "{field}={value:?}: {status}");
            if status == StatusCode::OK {
                // Only a full name with harmless punctuation may pass; clean it up again.
                assert!(field == "full_name" || field == "password", "{field}={value:?} was accepted");
                assert_eq!(app.delete("/users/mallory", &admin.access_token).await.status(), StatusCode::OK);
            }
        }
        let response = app.token_request(&[("username", value), ("password", value)]).await;
        assert!(
            response.status() == StatusCode::UNAUTHORIZED || response.status() == StatusCode::BAD_REQUEST,
            "{value:?}"
        );
        for (field, json_value) in [("email", json!(value)), ("full_name", json!(value))] {
            let status =
                app.put("/users/alice", &tokens.access_token, json!({ field: json_value })).await.status();
            assert!(status.is_client_error() || status == StatusCode::OK, "PUT {field}={value:?}: {status}");
        }
        let encoded: String = value.bytes().map(|b| format!("%{b:02X}")).collect();
        for path in [
            format!("/users/{encoded}"),
            format!("/users/?q={encoded}"),
            format!("/audit?username={encoded}"),
        ] {
            let status = app.get(&path, &admin.access_token).await.status();
            assert!(status.is_client_error() || status == StatusCode::OK, "{path}: {status}");
        }
    }
    // Nothing was dropped or corrupted.
    let (status, list) = app.get_json("/users/", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 2);
    app.login("alice", PASSWORD).await;
}

async fn look_alike_usernames_cannot_coexist(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("admin").await;
    let (status, body) = status_json(app.register("Admin", "a2@example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("already registered"));
    for lookalike in ["\u{430}dmin", "adm\u{456}n", "ａdmin", "admin\u{200b}"] {
        let (status, body) = status_json(app.register(lookalike, "a3@example.com", PASSWORD).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{lookalike:?}");
        assert!(body["detail"].as_str().unwrap().contains("username"));
    }
}

async fn cors_allows_only_the_configured_origins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/auth/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let good = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(good.headers()["access-control-allow-origin"], "http://localhost:3000");
    assert!(good.headers().get("access-control-allow-credentials").is_none());
    let simple =
        app.client.get(app.url("/health")).header("origin", "https://evil.example").send().await.unwrap();
    assert!(simple.headers().get("access-control-allow-origin").is_none());
}

async fn parallel_guesses_cannot_outrun_the_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.account_failures_before_delay = 3).await;
    app.user("target").await;
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let request = app
                .client
                .post(app.url("/auth/token"))
                .form(&[("username", "target".to_owned()), ("password", format!("guess-{i}-x"))]);
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 3, "only the allowance of guesses reached the password check");
}

async fn logins_by_email_share_the_accounts_answers_and_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.account_failures_before_delay = 3).await;
    let (status, _) = status_json(app.register("Sam", "Sam.Smith@Example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
    app.user("bystander").await;
    // The email, in any case and with stray spaces, logs in to the same account.
    let tokens = app.login(" SAM.smith@example.COM ", PASSWORD).await;
    let (_, me) = app.get_json("/users/me", &tokens.access_token).await;
    assert_eq!(me["username"], "sam");

    // Every failure is byte-identical: wrong password by email or by name, unknown email or name.
    let app = &app;
    let answer = |username: &'static str| async move {
        let response = app.token_request(&[("username", username), ("password", "not-the-password")]).await;
        (response.status(), response.text().await.unwrap())
    };
    let by_email = answer("sam.smith@example.com").await;
    assert_eq!(by_email.0, StatusCode::UNAUTHORIZED);
    for other in ["nobody@example.com", "not an email@", "ghost"] {
        assert_eq!(answer(other).await, by_email, "{other}");
    }
    // Name and email share the account's counter: one failure by email above, two by name now,
    // and the account must wait whichever way it is named.
    answer("sam").await;
    answer("SAM").await;
    for name in ["sam", "sam.smith@example.com"] {
        let response = app.token_request(&[("username", name), ("password", PASSWORD)]).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
    }
    app.login("bystander@example.com", PASSWORD).await;
}

/// The auth database holds password hashes and the signing key: its folder (when the server
/// makes it) is 0700 and the file and its -wal/-shm are 0600; files opened up by hand are
/// closed again at the next start. (The real binary's data folder: `openchat` tests.)
async fn database_files_are_owner_only(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    if backend != Backend::Sqlite {
        return; // PostgreSQL's files are PostgreSQL's.
    }
    let app = TestApp::spawn(backend).await;
    app.user("olive").await;
    let dir = app.config.data_dir.clone();
    let mode = |name: &str| std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
    let files = ["auth.db", "auth.db-wal", "auth.db-shm"];
    assert_eq!(mode(""), 0o700, "the folder");
    for file in files {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    let config = app.stop().await;
    for file in files.iter().filter(|f| dir.join(f).exists()) {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let app = TestApp::start(config).await;
    app.login("olive", PASSWORD).await;
    for file in files {
        assert_eq!(mode(file), 0o600, "{file} after a restart");
    }
}
