//! Password changes and resets: the current password is asked for (and throttled like a
//! login), the seed's `PUT` only right after a login, and sessions end as they should.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, status_json};
use common::both_backends;

both_backends!(
    password_changes_count_against_the_address_like_logins,
    parallel_password_changes_cannot_outrun_the_limit,
    changing_ones_password_needs_the_current_one,
    wrong_current_passwords_are_throttled_like_logins,
    the_seed_put_changes_passwords_only_right_after_a_login,
    admins_reset_passwords_with_their_own_password,
    the_api_reference_documents_the_password_routes,
);

const NEW: &str = "a-brand-new-secret";

fn change(current: &str, new: &str) -> serde_json::Value {
    json!({"current_password": current, "new_password": new})
}

async fn changing_ones_password_needs_the_current_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let here = app.user("mia").await;
    let elsewhere = app.login("mia", PASSWORD).await;
    let token = &here.access_token;

    let (status, body) =
        status_json(app.post("/users/me/password", token, change("not-my-password", NEW)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "Your current password is incorrect");
    // Bad input is refused before the current password is even looked at.
    let (status, body) =
        status_json(app.post("/users/me/password", token, change(PASSWORD, "short")).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "new_password");
    let (status, body) = status_json(app.post("/users/me/password", token, change("", NEW)).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "current_password");
    let (status, body) =
        status_json(app.post("/users/me/password", token, json!({"new_password": NEW})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["detail"].as_str().unwrap().contains("current_password"), "{body}");
    let (status, body) =
        status_json(app.post("/users/me/password", token, change(PASSWORD, PASSWORD)).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["message"], "must differ from the current password");
    let anonymous = app.client.post(app.url("/users/me/password")).json(&change(PASSWORD, NEW)).send().await;
    assert_eq!(anonymous.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Nothing changed so far.
    assert_eq!(app.get("/users/me", &elsewhere.access_token).await.status(), StatusCode::OK);

    let (status, body) =
        status_json(app.post("/users/me/password", token, change(PASSWORD, NEW)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["message"].as_str().unwrap().contains("other sessions"));
    // The other session is over; this one refreshes into a token that works.
    assert_eq!(app.get("/users/me", &elsewhere.access_token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.refresh(&elsewhere.refresh_token).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/users/me", token).await.status(),
        StatusCode::UNAUTHORIZED,
        "issued before the change"
    );
    let (status, renewed) = status_json(app.refresh(&here.refresh_token).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get("/users/me", renewed["access_token"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.token_request(&[("username", "mia"), ("password", PASSWORD)]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("mia", NEW).await;

    let admin = app.user_with_roles("root", &["admin"]).await;
    let (_, log) = app.get_json("/audit?username=mia", &admin.access_token).await;
    let events: Vec<_> =
        log["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"password_changed"), "{events:?}");
    assert!(events.contains(&"password_change_failed"), "{events:?}");
}

async fn wrong_current_passwords_are_throttled_like_logins(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.account_failures_before_delay = 3).await;
    let victim = app.user("victim").await;
    let bystander = app.user("bystander").await;
    for i in 0..3 {
        let guess = change(&format!("guess-{i}-guess"), NEW);
        let status = app.post("/users/me/password", &victim.access_token, guess).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "guess {i}");
    }
    // Now even the right password waits, here and at the login: one counter for both.
    let response = app.post("/users/me/password", &victim.access_token, change(PASSWORD, NEW)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert_eq!(
        app.token_request(&[("username", "victim"), ("password", PASSWORD)]).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Parallel guesses cannot outrun the limit either.
    let guesses: Vec<_> = (0..8)
        .map(|i| {
            let request = app
                .client
                .post(app.url("/users/me/password"))
                .bearer_auth(&bystander.access_token)
                .json(&change(&format!("parallel-{i}-guess"), NEW));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::FORBIDDEN => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 3, "only the allowance of guesses reached the password check");
    // Failed logins count against the change too.
    let third = app.user("third").await;
    for _ in 0..3 {
        app.token_request(&[("username", "third"), ("password", "wrong-wrong")]).await;
    }
    let status = app.post("/users/me/password", &third.access_token, change(PASSWORD, NEW)).await.status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Every password change costs hashing work, so successful ones count against the address's
/// allowance too: past it, 429 with `Retry-After` and a reason, by either route.
async fn password_changes_count_against_the_address_like_logins(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.ip_failures_per_minute = 3).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    for name in ["uma", "ulf", "ute", "uwe"] {
        app.user(name).await;
    }
    // An administrator's resets (the administrator's session goes on through them).
    for name in ["uma", "ulf", "ute"] {
        let path = format!("/users/{name}/password");
        let status = app.post(&path, &admin.access_token, change(PASSWORD, NEW)).await.status();
        assert_eq!(status, StatusCode::OK, "{name}");
    }
    let response = app.post("/users/uwe/password", &admin.access_token, change(PASSWORD, NEW)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let (_, body) = status_json(response).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("password changes or taken email addresses from your address"),
        "{body}"
    );
    // The seed's PUT right after a login is throttled the same way.
    let status = app.put("/users/uwe", &admin.access_token, json!({"password": NEW})).await.status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Resets sent all at once are counted as they arrive: no more of them are done than the
/// allowance.
async fn parallel_password_changes_cannot_outrun_the_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.ip_failures_per_minute = 3).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    let names: Vec<String> = (0..10).map(|i| format!("user{i}")).collect();
    for name in &names {
        app.user(name).await;
    }
    let requests = names
        .iter()
        .map(|name| {
            app.client
                .post(app.url(&format!("/users/{name}/password")))
                .bearer_auth(&admin.access_token)
                .json(&change(PASSWORD, NEW))
        })
        .collect();
    let statuses = app.in_parallel(requests).await;
    let done = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(done <= 3, "{done} resets were done: {statuses:?}");
    assert_eq!(done + throttled, names.len(), "{statuses:?}");
}

async fn the_seed_put_changes_passwords_only_right_after_a_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let nina = app.user("nina").await;
    // Just logged in: the seed's way works, as its own end-to-end check expects.
    let response = app.put("/users/nina", &nina.access_token, json!({"password": NEW})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let nina = app.login("nina", NEW).await;

    app.age_sessions(6 * 60).await;
    let (status, body) =
        status_json(app.put("/users/nina", &nina.access_token, json!({"password": PASSWORD})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("log in again") && detail.contains("/users/me/password"), "{detail}");
    // Refreshing renews the access token, not the proof of a login.
    let (_, renewed) = status_json(app.refresh(&nina.refresh_token).await).await;
    let renewed = renewed["access_token"].as_str().unwrap();
    let status = app.put("/users/nina", renewed, json!({"password": PASSWORD})).await.status();
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Other fields need no recent login; the password was not changed.
    let (status, body) =
        status_json(app.put("/users/nina", renewed, json!({"full_name": "Nina N"})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["full_name"], "Nina N");
    app.login("nina", NEW).await;

    // An administrator's change of another user's password follows the same rule.
    let admin = app.user_with_roles("root", &["admin"]).await;
    let status = app.put("/users/nina", &admin.access_token, json!({"password": PASSWORD})).await.status();
    assert_eq!(status, StatusCode::OK);
    app.login("nina", PASSWORD).await;
    app.age_sessions(6 * 60).await;
    let status = app.put("/users/nina", &admin.access_token, json!({"password": NEW})).await.status();
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.login("nina", PASSWORD).await;
}

async fn admins_reset_passwords_with_their_own_password(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.account_failures_before_delay = 3).await;
    let olga = app.user("olga").await;
    let olga_elsewhere = app.login("olga", PASSWORD).await;
    let pat = app.user("pat").await;
    let manager = app.user_with_roles("maggie", &["manager"]).await;
    for token in [&pat.access_token, &manager.access_token] {
        let (status, body) =
            status_json(app.post("/users/olga/password", token, change(PASSWORD, NEW)).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body["detail"].as_str().unwrap().contains("administrator"), "{body}");
    }
    let admin = app.user_with_roles("root", &["admin"]).await;
    let token = &admin.access_token;
    let (status, body) =
        status_json(app.post("/users/nobody/password", token, change(PASSWORD, NEW)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "User not found");
    // `current_password` is the administrator's own: the user's password does not do.
    let (status, body) =
        status_json(app.post("/users/olga/password", token, change("olga-guess-1", NEW)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "Your current password is incorrect");
    let (status, _) =
        status_json(app.post("/users/olga/password", token, change(PASSWORD, "short")).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) =
        status_json(app.post("/users/olga/password", token, change(PASSWORD, NEW)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Password reset for user olga; their sessions have been logged out");
    for session in [&olga, &olga_elsewhere] {
        assert_eq!(app.get("/users/me", &session.access_token).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.refresh(&session.refresh_token).await.status(), StatusCode::BAD_REQUEST);
    }
    app.login("olga", NEW).await;
    assert_eq!(app.get("/users/me", token).await.status(), StatusCode::OK, "the admin's session goes on");

    // Guessing the administrator's password through resets is throttled like logins.
    for i in 0..3 {
        let status =
            app.post("/users/pat/password", token, change(&format!("guess-{i}-x"), NEW)).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let status = app.post("/users/pat/password", token, change(PASSWORD, NEW)).await.status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.login("pat", PASSWORD).await;

    let (_, log) = app.get_json("/audit?event=password_reset_by_admin", token).await;
    assert_eq!(log["total"], 1);
    assert_eq!(log["events"][0]["username"], "olga");
    assert_eq!(log["events"][0]["detail"], "by root");
}

async fn the_api_reference_documents_the_password_routes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, doc) = status_json(app.client.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let documented = |path: &str, method: &str, codes: &[&str]| {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is missing");
        for code in codes {
            assert!(operation["responses"][code].is_object(), "{method} {path} lacks {code}");
        }
    };
    documented("/users/me/password", "post", &["200", "401", "403", "422", "429"]);
    documented("/users/{username}/password", "post", &["200", "401", "403", "404", "422", "429"]);
    documented("/users/{username}", "put", &["403"]);
    documented("/auth/token", "post", &["401", "403", "429"]);
    let body = &doc["components"]["schemas"]["ChangePassword"]["properties"];
    assert!(body["current_password"].is_object() && body["new_password"].is_object(), "{body}");
}
