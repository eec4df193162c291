//! MCP servers registered over the API (the original's routes and fields) and "test
//! connection", against the example time server (`mcp-time`) and a misbehaving one
//! (`mcp_server`) on loopback ports. Every connection a test makes is to 127.0.0.1; addresses
//! elsewhere are only ever refused before anything connects.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::Backend;
use crate::tools::{register, start};
use common::both_backends;

both_backends!(
    servers_are_kept_per_user_with_their_secret_sealed,
    administrators_offer_servers_to_everyone_or_to_a_role,
    test_connection_lists_the_tools_or_says_why_not,
);

async fn servers_are_kept_per_user_with_their_secret_sealed(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let body = json!({"name": "Clock", "description": "Tells the time", "server_url": t.time_url,
        "config": {"timeout_seconds": 5}, "secret": "Bearer s3cret"});
    let (status, server) = app.post("/api/v1/mcp-servers/", &alice, body).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let id = server["id"].as_str().unwrap();
    assert_eq!(server["name"], "Clock");
    assert_eq!(server["description"], "Tells the time");
    assert_eq!(server["server_url"], t.time_url);
    assert_eq!(server["is_active"], true);
    assert_eq!(server["config"], json!({"timeout_seconds": 5}));
    assert_eq!(server["has_secret"], true);
    assert_eq!(server["scope"], "user");
    assert_eq!(server["editable"], true);
    assert!(!server.to_string().contains("s3cret"), "the secret is never returned: {server}");
    // At rest it is sealed, bound to the server.
    let stored = app.chat_state.db.mcp_server(id).await.unwrap().unwrap();
    let sealed = stored.secret.unwrap();
    assert!(sealed.starts_with("v1.") && !sealed.contains("s3cret"), "{sealed}");

    let (_, listed) = app.get("/api/v1/mcp-servers/", &alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, theirs) = app.get("/api/v1/mcp-servers/", &bob).await;
    assert_eq!(theirs, json!([]), "another user's servers are not listed");
    assert_eq!(app.get(&format!("/api/v1/mcp-servers/{id}"), &bob).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.put(&format!("/api/v1/mcp-servers/{id}"), &bob, json!({"name": "x"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&format!("/api/v1/mcp-servers/{id}"), &bob).await, StatusCode::NOT_FOUND);

    let (status, changed) = app
        .put(&format!("/api/v1/mcp-servers/{id}"), &alice, json!({"is_active": false, "secret": ""}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["is_active"], false);
    assert_eq!(changed["has_secret"], false);
    assert_eq!(changed["name"], "Clock", "fields left out stay");

    // Bad input: a clear 422 on the field, nothing stored.
    let bad = [
        (json!({"name": " ", "server_url": "https://tools.example.com/mcp"}), "name", "must not be empty"),
        (json!({"name": "x", "server_url": "http://tools.example.com/mcp"}), "server_url", "https://"),
        (json!({"name": "x", "server_url": "https://127.0.0.1/mcp"}), "server_url", "internal address"),
        (json!({"name": "x", "server_url": "https://10.1.2.3/mcp"}), "server_url", "internal address"),
        (
            json!({"name": "x", "server_url": "https://169.254.169.254/latest"}),
            "server_url",
            "internal address",
        ),
        (
            json!({"name": "x", "server_url": "https://[::ffff:127.0.0.1]/mcp"}),
            "server_url",
            "internal address",
        ),
        (json!({"name": "x", "server_url": "https://2130706433/mcp"}), "server_url", "internal address"),
        (json!({"name": "x", "server_url": "not a url"}), "server_url", "not a valid"),
        (
            json!({"name": "x", "server_url": "https://a.example/", "config": {"timeout_seconds": 0}}),
            "config.timeout_seconds",
            "from 1 to 3600",
        ),
        (
            json!({"name": "x", "server_url": "https://a.example/", "config": {"secret_header": "Host"}}),
            "config.secret_header",
            "header name",
        ),
        (
            json!({"name": "x", "server_url": "https://a.example/", "secret": "line\nbreak"}),
            "secret",
            "printable",
        ),
        (
            json!({"name": "x", "server_url": "https://a.example/", "scope": "global"}),
            "scope",
            "administrators",
        ),
    ];
    for (body, field, message) in bad {
        let (status, error) = app.post("/api/v1/mcp-servers/", &alice, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        let text = error.to_string();
        assert!(text.contains(field) && text.contains(message), "{body} → {error}");
    }
    let (_, listed) = app.get("/api/v1/mcp-servers/", &alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing stored by a refused request");

    assert_eq!(app.delete(&format!("/api/v1/mcp-servers/{id}"), &alice).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/v1/mcp-servers/{id}"), &alice).await.0, StatusCode::NOT_FOUND);

    // At most 50 per user.
    for i in 0..50 {
        register(app, &bob, json!({"name": format!("s{i}"), "server_url": "https://tools.example.com/mcp"}))
            .await;
    }
    let (status, error) = app
        .post("/api/v1/mcp-servers/", &bob, json!({"name": "one more", "server_url": "https://a.example/"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("50"), "{error}");

    // Many at once cannot pass the cap together: exactly 50 are stored.
    let carol = app.user("carol").await;
    let creates = (0..70).map(|i| {
        let body = json!({"name": format!("p{i}"), "server_url": "https://tools.example.com/mcp"});
        app.post("/api/v1/mcp-servers/", &carol, body)
    });
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(creates).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 50, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    let (_, listed) = app.get("/api/v1/mcp-servers/", &carol).await;
    assert_eq!(listed.as_array().unwrap().len(), 50);
}

async fn administrators_offer_servers_to_everyone_or_to_a_role(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let root = app.admin().await;
    let url = "https://tools.example.com/mcp";
    let (status, error) =
        app.post("/api/v1/admin/mcp-servers/", &alice, json!({"name": "x", "server_url": url})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(app.get("/api/v1/admin/mcp-servers/", &alice).await.0, StatusCode::FORBIDDEN);

    let body = json!({"name": "Everyone's", "server_url": "https://tools.example.com/mcp?key=s3cret"});
    let (status, global) = app.post("/api/v1/admin/mcp-servers/", &root, body).await;
    assert_eq!(status, StatusCode::CREATED, "{global}");
    assert_eq!(global["scope"], "global");
    assert_eq!(
        global["server_url"], "https://tools.example.com/mcp?key=s3cret",
        "the administrator sees it all"
    );
    let body = json!({"name": "Testers'", "server_url": url, "scope": "role", "role": "testers"});
    let (status, testers) = app.post("/api/v1/admin/mcp-servers/", &root, body).await;
    assert_eq!(status, StatusCode::CREATED, "{testers}");
    assert_eq!(testers["role"], "testers");
    let (status, error) = app
        .post("/api/v1/admin/mcp-servers/", &root, json!({"name": "x", "server_url": url, "scope": "role"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a role server names its role: {error}");

    // Alice (no role) sees the one for everyone, and may not change it.
    let (_, listed) = app.get("/api/v1/mcp-servers/", &alice).await;
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Everyone's"]);
    assert_eq!(listed[0]["editable"], false);
    assert_eq!(listed[0]["server_url"], "https://tools.example.com", "its users see only the origin");
    let id = global["id"].as_str().unwrap();
    let (status, error) =
        app.put(&format!("/api/v1/mcp-servers/{id}"), &alice, json!({"is_active": false})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(app.delete(&format!("/api/v1/mcp-servers/{id}"), &alice).await, StatusCode::FORBIDDEN);
    let testers_id = testers["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/mcp-servers/{testers_id}"), &alice).await.0, StatusCode::NOT_FOUND);

    // The administrator lists, changes and removes them.
    let (_, shared) = app.get("/api/v1/admin/mcp-servers/", &root).await;
    assert_eq!(shared.as_array().unwrap().len(), 2);
    let (status, changed) =
        app.put(&format!("/api/v1/admin/mcp-servers/{testers_id}"), &root, json!({"scope": "global"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, listed) = app.get("/api/v1/mcp-servers/", &alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "now offered to everyone");
    assert_eq!(
        app.delete(&format!("/api/v1/admin/mcp-servers/{testers_id}"), &root).await,
        StatusCode::NO_CONTENT
    );
    // A user's own server is not the admin routes' business.
    let own = register(app, &alice, json!({"name": "Mine", "server_url": url})).await;
    assert_eq!(app.get(&format!("/api/v1/admin/mcp-servers/{own}"), &root).await.0, StatusCode::NOT_FOUND);
}

async fn test_connection_lists_the_tools_or_says_why_not(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let clock = register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let (status, tools) = app.post(&format!("/api/v1/mcp-servers/{clock}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{tools}");
    assert_eq!(tools["server_name"], "mcp-time");
    assert_eq!(tools["tools"][0]["name"], "get_current_time");
    let schema: Value = serde_json::from_str(tools["tools"][0]["input_schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["required"], json!(["timezone"]));

    // The secret goes in the header it names (Authorization by default).
    let body = json!({"name": "Odd", "server_url": t.odd_url, "secret": "Bearer s3cret"});
    let odd = register(app, &alice, body).await;
    let (status, tools) = app.post(&format!("/api/v1/mcp-servers/{odd}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{tools}");
    assert_eq!(tools["server_name"], "misbehaving");
    assert_eq!(tools["tools"].as_array().unwrap().len(), 4);
    assert_eq!(t.odd.authorization.lock().unwrap().as_deref(), Some("Bearer s3cret"));

    // A name that resolves to loopback (not allowed) is refused before anything connects.
    let port = t.time_url.trim_start_matches("http://127.0.0.1:").split('/').next().unwrap();
    let local = register(
        app,
        &alice,
        json!({"name": "Sneaky", "server_url": format!("https://localhost:{port}/mcp")}),
    )
    .await;
    let (status, error) = app.post(&format!("/api/v1/mcp-servers/{local}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("\"Sneaky\" cannot be used") && detail.contains("internal address"), "{detail}");

    // An allowed server that redirects to loopback elsewhere: the redirect is refused.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hop = listener.local_addr().unwrap().port();
    let to = format!("http://127.0.0.1:{port}/mcp");
    let redirecting = axum::Router::new()
        .route("/mcp", axum::routing::post(move || async move { axum::response::Redirect::temporary(&to) }));
    tokio::spawn(async move { axum::serve(listener, redirecting).await });
    let t2 =
        start(backend, |config| config.chat.tools.allowed_hosts = vec![format!("127.0.0.1:{hop}")]).await;
    let carol = t2.app.user("carol").await;
    let body = json!({"name": "Hop", "server_url": format!("http://127.0.0.1:{hop}/mcp")});
    let hopper = register(&t2.app, &carol, body).await;
    let (status, error) = t2.app.post(&format!("/api/v1/mcp-servers/{hopper}/test"), &carol, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("cannot be used"), "{error}");
}
