//! `GET/PUT /api/v1/settings` and the defaults they give new conversations.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestChat};
use common::both_backends;

both_backends!(settings_are_stored_per_user_and_validated, new_conversations_get_the_defaults);

async fn settings_are_stored_per_user_and_validated(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let (status, empty) = app.get("/api/v1/settings", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty, json!({"default_model": null, "default_system_prompt": null}));

    let both = json!({"default_model": "fake-model-large", "default_system_prompt": "Answer in French."});
    let (status, saved) = app.put("/api/v1/settings", &alice, both.clone()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved, both);
    assert_eq!(app.get("/api/v1/settings", &alice).await.1, both);

    // A field left out stays; "" clears one.
    let (_, saved) = app.put("/api/v1/settings", &alice, json!({"default_system_prompt": ""})).await;
    assert_eq!(saved, json!({"default_model": "fake-model-large", "default_system_prompt": null}));
    let (_, saved) = app.put("/api/v1/settings", &alice, json!({"default_system_prompt": "Be brief."})).await;
    assert_eq!(saved["default_model"], "fake-model-large");
    let (_, saved) = app.put("/api/v1/settings", &alice, json!({"default_model": ""})).await;
    assert_eq!(saved, json!({"default_model": null, "default_system_prompt": "Be brief."}));

    // Each user has their own.
    assert_eq!(app.get("/api/v1/settings", &bob).await.1["default_system_prompt"], json!(null));

    let bad = [
        (json!({"default_model": "no-such-model"}), "default_model"),
        (json!({"default_model": "m\u{0}"}), "default_model"),
        (json!({"default_system_prompt": "x".repeat(16_001)}), "default_system_prompt"),
        (json!({"default_system_prompt": "nul \u{0} inside"}), "default_system_prompt"),
        (json!({"default_model": 42}), "default_model"),
    ];
    for (body, field) in bad {
        let (status, error) = app.put("/api/v1/settings", &alice, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:.80}");
        assert!(error["detail"].as_str().is_some_and(|d| d.contains(field)), "{error}");
    }
    // Nothing bad was stored.
    assert_eq!(app.get("/api/v1/settings", &alice).await.1["default_system_prompt"], "Be brief.");
    let (status, _) =
        app.put("/api/v1/settings", &alice, json!({"default_system_prompt": "x".repeat(16_000)})).await;
    assert_eq!(status, StatusCode::OK);

    let response = app.client.get(app.url("/api/v1/settings")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.client.put(app.url("/api/v1/settings")).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app.put("/api/v1/settings", "forged", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn new_conversations_get_the_defaults(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("carol").await;
    let untouched = app.post("/api/v1/conversations/", &token, json!({"title": "Before"})).await.1;
    assert_eq!(untouched["model"], json!(null));
    assert_eq!(untouched["system_prompt"], json!(null));

    app.put(
        "/api/v1/settings",
        &token,
        json!({"default_model": "fake-model-large", "default_system_prompt": "Answer in French."}),
    )
    .await;
    let (status, created) = app.post("/api/v1/conversations/", &token, json!({"title": "Defaults"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["model"], "fake-model-large");
    assert_eq!(created["system_prompt"], "Answer in French.");

    // What the creator sends wins; "" asks for none.
    let (_, explicit) = app
        .post(
            "/api/v1/conversations/",
            &token,
            json!({"title": "Mine", "model": "fake-model", "system_prompt": ""}),
        )
        .await;
    assert_eq!(explicit["model"], "fake-model");
    assert_eq!(explicit["system_prompt"], json!(null));
    let (_, no_model) = app.post("/api/v1/conversations/", &token, json!({"title": "x", "model": ""})).await;
    assert_eq!(no_model["model"], json!(null));
    assert_eq!(no_model["system_prompt"], "Answer in French.");

    // Over the WebSocket too.
    let mut ws = app.ws(&format!("/ws/chat/carol?token={token}")).await;
    ws.send("start_conversation", json!({"title": "Socket"})).await;
    let started = ws.next().await;
    assert_eq!(started["conversation"]["model"], "fake-model-large");
    assert_eq!(started["conversation"]["system_prompt"], "Answer in French.");

    // The model is asked with them.
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({"content": "Hello"})).await;
    app.settled_messages(&token, id).await;
    let request = app.fake.requests().into_iter().rev().find(|r| r.to_string().contains("Hello")).unwrap();
    assert_eq!(request["model"], "fake-model-large");
    assert_eq!(request["messages"][0]["role"], "system");
    assert_eq!(request["messages"][0]["content"], "Answer in French.");

    // Another user's defaults are not mine.
    let dave = app.user("dave").await;
    let (_, theirs) = app.post("/api/v1/conversations/", &dave, json!({"title": "Dave's"})).await;
    assert_eq!(theirs["model"], json!(null));
    assert_eq!(theirs["system_prompt"], json!(null));
}
