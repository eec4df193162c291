//! The seed's user and role routes: shapes, messages, permissions, and token cut-offs.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, status_json};
use common::both_backends;

both_backends!(
    health_is_healthy,
    registration_returns_the_seed_shape,
    duplicates_are_400_already_registered,
    invalid_registrations_are_422_naming_the_field,
    roles_in_registration_need_an_admin,
    closed_registration_refuses_non_admins,
    me_routes_return_the_caller,
    listing_users_needs_admin_or_manager,
    reading_a_user_needs_self_manager_or_admin,
    updating_a_user_follows_permissions,
    password_change_ends_other_sessions,
    disabling_a_user_cuts_off_its_tokens,
    deleting_a_user_needs_admin_and_kills_its_tokens,
    role_changes_follow_the_seed_and_cut_off_old_tokens,
    the_last_admin_cannot_be_removed,
    two_admins_removing_each_other_at_once_leave_one,
    probing_emails_through_put_users_me_is_throttled,
    parallel_email_probes_cannot_outrun_the_limit,
    a_leftover_bootstrap_setting_does_not_stop_later_starts,
    audit_log_is_for_admins,
);

/// `PUT /users/{me}` with an email that another account has answers "already registered" —
/// which tells that the address has an account — so those answers are limited per client like
/// failed logins: a list of addresses cannot be walked.
async fn probing_emails_through_put_users_me_is_throttled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.ip_failures_per_minute = 3).await;
    let prober = app.user("prober").await;
    for name in ["vera", "walt", "xena", "yuri"] {
        app.user(name).await;
    }
    for name in ["vera", "walt", "xena"] {
        let body = json!({"email": format!("{name}@example.com")});
        let (status, error) = status_json(app.put("/users/prober", &prober.access_token, body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["detail"], "Email already registered");
    }
    let response = app.put("/users/prober", &prober.access_token, json!({"email": "yuri@example.com"})).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let (_, error) = status_json(response).await;
    assert!(error["detail"].as_str().unwrap().contains("taken email addresses"), "{error}");
    // Nothing changed, and other edits go on.
    let (_, me) = app.get_json("/users/me", &prober.access_token).await;
    assert_eq!(me["email"], "prober@example.com");
    let status =
        app.put("/users/prober", &prober.access_token, json!({"full_name": "P. Rober"})).await.status();
    assert_eq!(status, StatusCode::OK);
}

/// Probes sent all at once are counted as they arrive, not after they are answered: no more
/// of them learn the answer than the allowance.
async fn parallel_email_probes_cannot_outrun_the_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.ip_failures_per_minute = 3).await;
    let prober = app.user("prober").await;
    let names: Vec<String> = (0..12).map(|i| format!("taken{i}")).collect();
    for name in &names {
        app.user(name).await;
    }
    let requests = names
        .iter()
        .map(|name| {
            app.client
                .put(app.url("/users/prober"))
                .bearer_auth(&prober.access_token)
                .json(&json!({"email": format!("{name}@example.com")}))
        })
        .collect();
    let statuses = app.in_parallel(requests).await;
    let answered = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(answered <= 3, "{answered} probes were answered: {statuses:?}");
    assert_eq!(answered + throttled, names.len(), "{statuses:?}");
}

/// The one-time `OPENCHAT_BOOTSTRAP_ADMIN_*` settings, left in place after that administrator
/// was demoted or deleted, do not stop the server from starting again (a warning says to
/// remove them), and create or change nothing.
async fn a_leftover_bootstrap_setting_does_not_stop_later_starts(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.auth.bootstrap_admin = Some(common::config::BootstrapAdmin {
            username: "boot".into(),
            email: "boot@example.com".into(),
            password: PASSWORD.into(),
        });
    })
    .await;
    let boot = app.login("boot", PASSWORD).await;
    app.user_with_roles("second", &["admin"]).await;
    let config = app.stop().await;
    // A restart with the settings still there, the bootstrap administrator unchanged: fine.
    let app = TestApp::start(config).await;
    assert_eq!(
        app.put("/roles/boot", &boot.access_token, json!({"roles": ["user"]})).await.status(),
        StatusCode::OK
    );
    let config = app.stop().await;
    // Demoted: still starts, and does not make it an administrator again.
    let app = TestApp::start(config).await;
    let me = app.login("boot", PASSWORD).await;
    let (_, body) = app.get_json("/users/me", &me.access_token).await;
    assert_eq!(body["roles"], json!(["user"]));
    let second = app.login("second", PASSWORD).await;
    assert_eq!(app.delete("/users/boot", &second.access_token).await.status(), StatusCode::OK);
    let config = app.stop().await;
    // Deleted: still starts, and does not come back.
    let app = TestApp::start(config).await;
    assert_eq!(
        app.token_request(&[("username", "boot"), ("password", PASSWORD)]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.db.active_admin_count().await.unwrap(), 1);
}

/// Two administrators demote, disable or delete each other at the same moment, several times:
/// whatever the interleaving, one of them stays an active administrator.
async fn two_admins_removing_each_other_at_once_leave_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    type Removal = fn(&str) -> (reqwest::Method, String, serde_json::Value);
    let removals: [(&str, Removal); 3] = [
        ("demote", |name| (reqwest::Method::PUT, format!("/roles/{name}"), json!({"roles": ["user"]}))),
        ("disable", |name| (reqwest::Method::PUT, format!("/users/{name}"), json!({"is_active": false}))),
        ("delete", |name| (reqwest::Method::DELETE, format!("/users/{name}"), json!(null))),
    ];
    for round in 0..4 {
        for (what, removal) in removals {
            // Exactly two active administrators now.
            let (a, b) = (format!("{what}a{round}"), format!("{what}b{round}"));
            let tokens =
                [app.user_with_roles(&a, &["admin"]).await, app.user_with_roles(&b, &["admin"]).await];
            // The survivor of the previous round steps down, directly in the database.
            sqlx::query("UPDATE users SET roles = 'user' WHERE username <> $1 AND username <> $2")
                .bind(&a)
                .bind(&b)
                .execute(app.db.pool())
                .await
                .unwrap();
            assert_eq!(app.db.active_admin_count().await.unwrap(), 2);
            let requests = [(&tokens[0], &b), (&tokens[1], &a)].map(|(token, other)| {
                let (method, path, body) = removal(other);
                let mut request = app.client.request(method, app.url(&path)).bearer_auth(&token.access_token);
                if !body.is_null() {
                    request = request.json(&body);
                }
                tokio::spawn(async move {
                    let response = request.send().await.unwrap();
                    (response.status(), response.text().await.unwrap())
                })
            });
            let mut answers = Vec::new();
            for request in requests {
                answers.push(request.await.unwrap());
            }
            let ok = answers.iter().filter(|(status, _)| *status == StatusCode::OK).count();
            assert_eq!(app.db.active_admin_count().await.unwrap(), 1, "{what}, round {round}: {answers:?}");
            assert_eq!(ok, 1, "{what}, round {round}: {answers:?}");
            for (status, body) in &answers {
                // The loser is told why, or its token no longer carries the role.
                assert!(
                    *status == StatusCode::OK
                        || (*status == StatusCode::CONFLICT && body.contains("last active administrator"))
                        || *status == StatusCode::UNAUTHORIZED
                        || *status == StatusCode::FORBIDDEN,
                    "{what}: {status} {body}"
                );
            }
        }
    }
}

async fn health_is_healthy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = status_json(app.client.get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["service"], "auth-server");
    assert_eq!(body["database"], "ok");
}

async fn registration_returns_the_seed_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = status_json(app.register("Alice", "Alice@Example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "User created successfully");
    let user = &body["user"];
    assert_eq!(user["id"].as_str().unwrap().len(), 16);
    assert_eq!(user["username"], "alice", "usernames are canonical");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["full_name"], "Test User");
    assert_eq!(user["roles"], json!(["user"]));
    assert_eq!(user["is_active"], true);
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
}

async fn duplicates_are_400_already_registered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice").await;
    for (username, email) in
        [("alice", "other@example.com"), ("ALICE", "x@example.com"), ("bob", "ALICE@example.com")]
    {
        let (status, body) = status_json(app.register(username, email, PASSWORD).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{username} {email}");
        assert!(body["detail"].as_str().unwrap().contains("already registered"), "{body}");
    }
}

async fn invalid_registrations_are_422_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (json!({"username": "carol", "email": "not-an-email", "password": PASSWORD}), "email"),
        (json!({"username": "carol", "email": "c@example.com", "password": "short"}), "password"),
        (json!({"username": "carol", "email": "c@example.com", "password": "password123"}), "password"),
        (json!({"username": "x", "email": "c@example.com", "password": PASSWORD}), "username"),
        (json!({"username": "bad name", "email": "c@example.com", "password": PASSWORD}), "username"),
        (json!({"username": "carol", "email": "c@example.com", "password": "p".repeat(129)}), "password"),
        (
            json!({"username": "carol", "email": "c@example.com", "password": PASSWORD, "full_name": "a".repeat(200)}),
            "full_name",
        ),
        (json!({"username": "carol", "password": PASSWORD}), "email"),
    ];
    for (body, field) in cases {
        let response = app.client.post(app.url("/users/")).json(&body).send().await.unwrap();
        let (status, error) = status_json(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(error["detail"].as_str().unwrap().contains(field), "{field}: {error}");
    }
    let response = app
        .client
        .post(app.url("/users/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn roles_in_registration_need_an_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body =
        json!({"username": "mallory", "email": "m@example.com", "password": PASSWORD, "roles": ["admin"]});
    let (status, error) =
        status_json(app.client.post(app.url("/users/")).json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error["detail"].as_str().unwrap().contains("administrator"));
    assert_eq!(
        app.token_request(&[("username", "mallory"), ("password", PASSWORD)]).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // ["user"] is what anyone gets anyway.
    let body =
        json!({"username": "plain", "email": "p@example.com", "password": PASSWORD, "roles": ["user"]});
    assert_eq!(
        app.client.post(app.url("/users/")).json(&body).send().await.unwrap().status(),
        StatusCode::OK
    );

    let admin = app.user_with_roles("root", &["admin"]).await;
    let body =
        json!({"username": "boss", "email": "b@example.com", "password": PASSWORD, "roles": ["manager"]});
    let response = app
        .client
        .post(app.url("/users/"))
        .bearer_auth(&admin.access_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, created) = status_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(created["user"]["roles"], json!(["manager"]));
    let body =
        json!({"username": "ghost", "email": "g@example.com", "password": PASSWORD, "roles": ["superuser"]});
    let response = app
        .client
        .post(app.url("/users/"))
        .bearer_auth(&admin.access_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, error) = status_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["detail"], "Role 'superuser' does not exist");
}

async fn closed_registration_refuses_non_admins(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.open_registration = false).await;
    let (status, body) = status_json(app.register("dave", "d@example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("closed"));
    let admin = app.user_with_roles("root", &["admin"]).await;
    let body = json!({"username": "dave", "email": "d@example.com", "password": PASSWORD});
    let response = app
        .client
        .post(app.url("/users/"))
        .bearer_auth(&admin.access_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn me_routes_return_the_caller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.user("erin").await;
    let (status, me) = app.get_json("/users/me", &tokens.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "erin");
    let (_, auth_me) = app.get_json("/auth/me", &tokens.access_token).await;
    assert_eq!(me, auth_me);

    let response = app.client.get(app.url("/users/me")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let response = app.get("/users/me", "garbage").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let (_, body) = status_json(response).await;
    assert_eq!(body["error"], "invalid_token");
}

async fn listing_users_needs_admin_or_manager(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("frank").await;
    for name in ["gina", "gus", "hank"] {
        app.user(name).await;
    }
    let (status, body) = app.get_json("/users/", &user.access_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("administrator"));

    let manager = app.user_with_roles("maggie", &["manager"]).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    for token in [&manager.access_token, &admin.access_token] {
        let (status, body) = app.get_json("/users/", token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["total"], 6);
        assert_eq!(body["users"].as_array().unwrap().len(), 6);
    }
    let (_, page) = app.get_json("/users/?limit=2&offset=1", &admin.access_token).await;
    let names: Vec<_> =
        page["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["gina", "gus"]);
    assert_eq!(page["total"], 6);
    let (_, found) = app.get_json("/users/?q=GU", &admin.access_token).await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["users"][0]["username"], "gus");
    let (_, none) = app.get_json("/users/?q=%25", &admin.access_token).await;
    assert_eq!(none["total"], 0, "a literal % matches nothing: {none}");
    let (status, _) = app.get_json("/users/?limit=0", &admin.access_token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.get_json("/users/?limit=abc", &admin.access_token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn reading_a_user_needs_self_manager_or_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ivy = app.user("ivy").await;
    app.user("jack").await;
    let manager = app.user_with_roles("maggie", &["manager"]).await;
    assert_eq!(app.get_json("/users/ivy", &ivy.access_token).await.0, StatusCode::OK);
    assert_eq!(app.get_json("/users/jack", &ivy.access_token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get_json("/users/nobody", &ivy.access_token).await.0, StatusCode::FORBIDDEN, "no probing");
    let (status, jack) = app.get_json("/users/jack", &manager.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jack["username"], "jack");
    let (status, body) = app.get_json("/users/nobody", &manager.access_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "User not found");
}

async fn updating_a_user_follows_permissions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let kim = app.user("kim").await;
    app.user("lee").await;
    let manager = app.user_with_roles("maggie", &["manager"]).await;
    let (status, body) = status_json(
        app.put("/users/kim", &kim.access_token, json!({"full_name": "Kim K", "email": "KIM@new.example"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "User updated successfully");
    assert_eq!(body["user"]["full_name"], "Kim K");
    assert_eq!(body["user"]["email"], "kim@new.example");
    assert_eq!(
        app.put("/users/lee", &kim.access_token, json!({"full_name": "x"})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put("/users/lee", &manager.access_token, json!({"full_name": "x"})).await.status(),
        StatusCode::FORBIDDEN
    );
    let (status, body) =
        status_json(app.put("/users/kim", &kim.access_token, json!({"is_active": false})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("administrator"));
    let (status, body) =
        status_json(app.put("/users/kim", &kim.access_token, json!({"email": "lee@example.com"})).await)
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("already registered"));
    assert_eq!(
        app.put("/users/kim", &kim.access_token, json!({"password": "short"})).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.put("/users/kim", &kim.access_token, json!({"email": "nope"})).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let here = app.user("mia").await;
    let elsewhere = app.login("mia", PASSWORD).await;
    let response = app.put("/users/mia", &here.access_token, json!({"password": "a-brand-new-secret"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Every access token issued before the change is refused…
    assert_eq!(app.get("/users/me", &elsewhere.access_token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/users/me", &here.access_token).await.status(), StatusCode::UNAUTHORIZED);
    // …the other session is over, while the caller's own session refreshes into a new token.
    assert_eq!(app.refresh(&elsewhere.refresh_token).await.status(), StatusCode::BAD_REQUEST);
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
    app.login("mia", "a-brand-new-secret").await;
}

async fn disabling_a_user_cuts_off_its_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ned = app.user("ned").await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    let (status, body) =
        status_json(app.put("/users/ned", &admin.access_token, json!({"is_active": false})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["is_active"], false);
    assert_eq!(app.get("/users/me", &ned.access_token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.refresh(&ned.refresh_token).await.status(), StatusCode::BAD_REQUEST);
    // With the right password (by name or email), the login says why it is refused…
    for name in ["ned", "ned@example.com"] {
        let (status, body) =
            status_json(app.token_request(&[("username", name), ("password", PASSWORD)]).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["detail"], "This account is disabled; ask an administrator to enable it");
    }
    // …with a wrong one it says what it says for any account, so it reveals nothing.
    let wrong = app.token_request(&[("username", "ned"), ("password", "not-the-password")]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = app.token_request(&[("username", "nobody"), ("password", "not-the-password")]).await;
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
    app.put("/users/ned", &admin.access_token, json!({"is_active": true})).await;
    app.login("ned", PASSWORD).await;
    let (_, log) = app.get_json("/audit?event=login_failed&username=ned", &admin.access_token).await;
    assert_eq!(log["events"][0]["detail"], "wrong password");
    assert_eq!(log["events"][1]["detail"], "account disabled");
}

async fn deleting_a_user_needs_admin_and_kills_its_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let olga = app.user("olga").await;
    let pat = app.user("pat").await;
    let (status, body) = status_json(app.delete("/users/olga", &pat.access_token).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("administrator"));
    let admin = app.user_with_roles("root", &["admin"]).await;
    let (status, body) = status_json(app.delete("/users/olga", &admin.access_token).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "User deleted successfully");
    assert_eq!(app.get("/users/me", &olga.access_token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.refresh(&olga.refresh_token).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.delete("/users/olga", &admin.access_token).await.status(), StatusCode::NOT_FOUND);
    // The name is free again, and the new account shares nothing with the old one.
    let again = app.user("olga").await;
    assert_eq!(app.get("/users/me", &again.access_token).await.status(), StatusCode::OK);
}

async fn role_changes_follow_the_seed_and_cut_off_old_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quinn = app.user_with_roles("quinn", &["manager"]).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    assert_eq!(
        app.put("/roles/quinn", &quinn.access_token, json!({"roles": ["admin"]})).await.status(),
        StatusCode::FORBIDDEN
    );
    let (status, body) =
        status_json(app.put("/roles/quinn", &admin.access_token, json!({"roles": ["wizard"]})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Role 'wizard' does not exist");
    assert_eq!(
        app.put("/roles/nobody", &admin.access_token, json!({"roles": ["user"]})).await.status(),
        StatusCode::NOT_FOUND
    );

    let (status, body) =
        status_json(app.put("/roles/quinn", &admin.access_token, json!({"roles": ["user"]})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Roles updated successfully for user quinn");
    // The manager token is dead: a downgraded user cannot keep using old privileges.
    assert_eq!(app.get("/users/", &quinn.access_token).await.status(), StatusCode::UNAUTHORIZED);
    let renewed = app.login("quinn", PASSWORD).await;
    assert_eq!(app.get("/users/", &renewed.access_token).await.status(), StatusCode::FORBIDDEN);
    let (_, me) = app.get_json("/users/me", &renewed.access_token).await;
    assert_eq!(me["roles"], json!(["user"]));
}

async fn the_last_admin_cannot_be_removed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    let (status, body) =
        status_json(app.put("/roles/root", &admin.access_token, json!({"roles": ["user"]})).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.delete("/users/root", &admin.access_token).await.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.put("/users/root", &admin.access_token, json!({"is_active": false})).await.status(),
        StatusCode::CONFLICT
    );
    app.user_with_roles("second", &["admin"]).await;
    assert_eq!(
        app.put("/roles/root", &admin.access_token, json!({"roles": ["user"]})).await.status(),
        StatusCode::OK
    );
}

async fn audit_log_is_for_admins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("rita").await;
    app.token_request(&[("username", "rita"), ("password", "wrong-password")]).await;
    let admin = app.user_with_roles("root", &["admin"]).await;
    app.put("/roles/rita", &admin.access_token, json!({"roles": ["manager", "user"]})).await;
    assert_eq!(
        app.get("/audit", &user.access_token).await.status(),
        StatusCode::UNAUTHORIZED,
        "role change cut the token off"
    );
    let manager = app.login("rita", PASSWORD).await;
    assert_eq!(app.get("/audit", &manager.access_token).await.status(), StatusCode::FORBIDDEN);
    let (status, log) = app.get_json("/audit?limit=100", &admin.access_token).await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<_> =
        log["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect();
    for expected in ["user_registered", "login_failed", "login_succeeded", "roles_changed"] {
        assert!(events.iter().any(|e| e == expected), "{expected} missing from {events:?}");
    }
    assert_eq!(events.first().map(String::as_str), Some("login_succeeded"), "newest first");
    let (_, failures) = app.get_json("/audit?event=login_failed", &admin.access_token).await;
    assert_eq!(failures["total"], 1);
    assert_eq!(failures["events"][0]["username"], "rita");
    assert_eq!(failures["events"][0]["ip"], "127.0.0.1");
}
