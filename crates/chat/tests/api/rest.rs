//! REST routes of api.md, including the seed aliases and user isolation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat};
use common::both_backends;

both_backends!(
    service_routes_answer_without_a_token,
    everything_else_needs_a_valid_token,
    tokens_without_the_chat_scope_are_refused,
    conversations_crud,
    conversations_list_pages_and_searches,
    foreign_ids_answer_404,
    messages_are_stored_and_answered,
    message_input_is_validated,
    messages_page_from_the_newest_end,
    seed_aliases_work,
    models_are_listed,
    replies_stream_over_sse,
    without_a_provider_or_local_model_replies_fail_fast_with_a_reason,
    concurrent_sends_chain_up,
    unfinished_replies_per_user_are_capped,
);

async fn service_routes_answer_without_a_token(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let root: Value = app.client.get(app.url("/")).send().await.unwrap().json().await.unwrap();
    assert!(root["message"].is_string() && root["version"].is_string());
    let health: Value = app.client.get(app.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["database"], "ok");
    let chat: Value =
        app.client.get(app.url("/api/v1/chat/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(chat["chat_service"], "active");
    let openapi: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/v1/conversations/{id}/messages"]["post"].is_object());
    common::testing::assert_api_reference_served(&app.base).await;
}

async fn everything_else_needs_a_valid_token(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let response = app.client.get(app.url("/api/v1/conversations/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = app.get("/api/v1/conversations/", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    let (status, _) = app.get("/api/v1/models", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A token the auth server issued for other scopes (`openid profile`) is valid but not for
/// chat: 403 `insufficient_scope` naming the scope, over REST and on the WebSocket.
async fn tokens_without_the_chat_scope_are_refused(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let full = app.user("scoped").await;
    let response = app
        .client
        .post(format!("{}/auth/token", app.auth))
        .form(&[("username", "scoped"), ("password", crate::helpers::PASSWORD), ("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let narrow = body["access_token"].as_str().unwrap().to_owned();
    let response =
        app.client.get(app.url("/api/v1/conversations/")).bearer_auth(&narrow).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope") && challenge.contains("scope=\"chat\""), "{challenge}");
    let (_, error) = crate::helpers::status_json(response).await;
    assert_eq!(error["error"], "insufficient_scope");
    assert!(error["detail"].as_str().unwrap().contains("chat"), "{error}");
    let (status, _) = app.post("/api/v1/conversations/", &narrow, json!({"title": "no"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The same user's token with the default scope works.
    assert_eq!(app.get("/api/v1/conversations/", &full).await.0, StatusCode::OK);
}

async fn conversations_crud(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("alice").await;
    let (status, created) = app
        .post("/api/v1/conversations/", &token, json!({"title": "First chat", "system_prompt": "Be brief."}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(created["title"], "First chat");
    assert_eq!(created["user_id"], "alice");
    assert_eq!(created["system_prompt"], "Be brief.");
    assert_eq!(created["message_count"], 0);
    assert_eq!(created["pinned"], false);
    assert_eq!(created["archived"], false);
    for field in ["created_at", "updated_at", "last_message_at", "model"] {
        assert!(created.get(field).is_some(), "{field}");
    }
    let (status, fetched) = app.get(&format!("/api/v1/conversations/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);

    let (status, updated) = app
        .put(
            &format!("/api/v1/conversations/{id}"),
            &token,
            json!({"title": "Renamed", "pinned": true, "model": "fake-model-large"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["title"], "Renamed");
    assert_eq!(updated["pinned"], true);
    assert_eq!(updated["model"], "fake-model-large");
    let (status, _) =
        app.put(&format!("/api/v1/conversations/{id}"), &token, json!({"model": "no-such-model"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.put(&format!("/api/v1/conversations/{id}"), &token, json!({"title": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) = app.post("/api/v1/conversations/", &token, json!({"system_prompt": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "title is required");
    assert!(body["detail"].as_str().unwrap().contains("title"));
    let (status, _) =
        app.post("/api/v1/conversations/", &token, json!({"title": "x", "user_id": "bob"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        app.post("/api/v1/conversations/", &token, json!({"title": "x", "user_id": "alice"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.post("/api/v1/conversations/", &token, json!({"title": "t".repeat(201)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.post("/api/v1/conversations/", &token, json!({"title": "nul\u{0}byte"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(app.delete(&format!("/api/v1/conversations/{id}"), &token).await, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&format!("/api/v1/conversations/{id}"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["detail"].is_string());
    assert_eq!(app.delete(&format!("/api/v1/conversations/{id}"), &token).await, StatusCode::NOT_FOUND);
}

async fn conversations_list_pages_and_searches(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("carol").await;
    let mut ids = Vec::new();
    for title in ["Rust questions", "Holiday plans", "More rust"] {
        ids.push(app.conversation(&token, title).await);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Activity moves a conversation to the top.
    app.post(
        &format!("/api/v1/conversations/{}/messages", ids[0]),
        &token,
        json!({"content": "hi", "generate": false}),
    )
    .await;
    let (_, list) = app.get("/api/v1/conversations/", &token).await;
    let titles: Vec<_> =
        list.as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(titles, ["Rust questions", "More rust", "Holiday plans"]);
    let (_, found) = app.get("/api/v1/conversations/?q=RUST", &token).await;
    assert_eq!(found.as_array().unwrap().len(), 2);
    let (_, page) = app.get("/api/v1/conversations/?limit=1&offset=1", &token).await;
    assert_eq!(page[0]["title"], "More rust");
    let (_, none) = app.get("/api/v1/conversations/?q=%25", &token).await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    app.put(&format!("/api/v1/conversations/{}", ids[1]), &token, json!({"archived": true})).await;
    let (_, archived) = app.get("/api/v1/conversations/?archived=true", &token).await;
    assert_eq!(archived.as_array().unwrap().len(), 1);
    let (status, _) = app.get("/api/v1/conversations/?user_id=someone-else", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/api/v1/conversations/?limit=0", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn foreign_ids_answer_404(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = app.conversation(&alice, "Private").await;
    let (_, posted) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &alice,
            json!({"content": "secret", "generate": false}),
        )
        .await;
    assert_eq!(app.get(&format!("/api/v1/conversations/{id}"), &bob).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/conversations/{id}/messages"), &bob).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.put(&format!("/api/v1/conversations/{id}"), &bob, json!({"title": "mine"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&format!("/api/v1/conversations/{id}/messages"), &bob, json!({"content": "hi"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&format!("/api/v1/conversations/{id}"), &bob).await, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(&format!("/api/v1/users/bob/conversations/{id}"), &bob).await,
        StatusCode::NOT_FOUND
    );
    let message_id = posted["id"].as_str().unwrap();
    let (status, _) =
        app.get(&format!("/api/v1/conversations/{id}/messages?before={message_id}"), &bob).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, bobs) = app.get("/api/v1/conversations/", &bob).await;
    assert_eq!(bobs.as_array().unwrap().len(), 0);
    for bad in ["'%20OR%201=1--", "%00", &"x".repeat(100)] {
        assert_eq!(
            app.get(&format!("/api/v1/conversations/{bad}"), &alice).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // Nothing was changed by the attempts.
    let (_, conversation) = app.get(&format!("/api/v1/conversations/{id}"), &alice).await;
    assert_eq!(conversation["title"], "Private");
}

async fn messages_are_stored_and_answered(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("dave").await;
    let id = app.conversation(&token, "Echo").await;
    let (status, posted) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &token,
            json!({"content": "hello there", "role": "user"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(posted["id"].as_str().unwrap().len(), 10);
    assert_eq!(posted["role"], "user");
    assert_eq!(posted["content"], "hello there");
    assert_eq!(posted["status"], "complete");
    assert!(posted["generation_id"].is_string());
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages.len(), 2);
    let reply = &messages[1];
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["status"], "complete");
    assert_eq!(reply["content"], "Echo: hello there");
    assert_eq!(reply["parent_id"], posted["id"]);
    assert_eq!(reply["model"], "fake-model");
    assert_eq!(reply["usage"]["completion_tokens"], 3);
    let (_, conversation) = app.get(&format!("/api/v1/conversations/{id}"), &token).await;
    assert_eq!(conversation["message_count"], 2);
    // The provider saw the conversation's context.
    let request = app.fake.requests().pop().unwrap();
    assert_eq!(request["stream"], true);
    assert_eq!(request["messages"].as_array().unwrap().last().unwrap()["content"], "hello there");
}

async fn message_input_is_validated(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("erin").await;
    let id = app.conversation(&token, "Validation").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    for body in [
        json!({"content": ""}),
        json!({"content": "hi", "role": "assistant"}),
        json!({"content": "hi", "conversation_id": "another-one"}),
        json!({"content": "x".repeat(32_001)}),
        json!({"content": "nul \u{0} byte"}),
        json!({"role": "user"}),
    ] {
        let (status, error) = app.post(&path, &token, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(error["detail"].is_string());
    }
    let huge = json!({"content": "x".repeat(400_000)});
    assert_eq!(app.post(&path, &token, huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let (_, messages) = app.get(&path, &token).await;
    assert_eq!(messages.as_array().unwrap().len(), 0, "nothing invalid was stored");
}

async fn messages_page_from_the_newest_end(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("fay").await;
    let id = app.conversation(&token, "Long").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    for i in 0..7 {
        app.post(&path, &token, json!({"content": format!("m{i}"), "generate": false})).await;
    }
    let (_, last3) = app.get(&format!("{path}?limit=3"), &token).await;
    let contents: Vec<_> =
        last3.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(contents, ["m4", "m5", "m6"]);
    let before = last3[0]["id"].as_str().unwrap();
    let (_, older) = app.get(&format!("{path}?limit=3&before={before}"), &token).await;
    let contents: Vec<_> =
        older.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(contents, ["m1", "m2", "m3"]);
    let (_, all) = app.get(&path, &token).await;
    assert_eq!(all.as_array().unwrap().len(), 7);
    assert_eq!(all[1]["parent_id"], all[0]["id"], "messages chain through parent ids");
}

async fn seed_aliases_work(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("gus").await;
    let (status, created) = app.post("/conversations/", &token, json!({"title": "Via alias"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    let (_, list) = app.get("/conversations/", &token).await;
    assert_eq!(list[0]["id"], id);
    let (status, _) = app
        .post(&format!("/conversations/{id}/messages"), &token, json!({"content": "hi", "generate": false}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, messages) = app.get(&format!("/conversations/{id}/messages"), &token).await;
    assert_eq!(messages.as_array().unwrap().len(), 1);
    assert_eq!(
        app.delete(&format!("/api/v1/users/gus/conversations/{id}"), &token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&format!("/api/v1/conversations/{id}"), &token).await.0, StatusCode::NOT_FOUND);
}

async fn models_are_listed(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("hal").await;
    let (status, models) = app.get("/api/v1/models", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(models["default_model"], "fake-model");
    let ids: Vec<_> =
        models["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, fake_llm::MODELS);
    assert_eq!(models["models"][0]["provider"], "fake");
}

async fn replies_stream_over_sse(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("ivy").await;
    let id = app.conversation(&token, "SSE").await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{id}/messages")))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({"content": "[[reply=one two three]]"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let body = response.text().await.unwrap();
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect();
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"message_accepted"));
    assert_eq!(kinds.get(1), Some(&"generation_started"));
    assert_eq!(kinds.last(), Some(&"generation_done"));
    assert_eq!(crate::helpers::text_of(&events, 1), "one two three");
    assert_eq!(events.last().unwrap()["status"], "complete");
}

async fn without_a_provider_or_local_model_replies_fail_fast_with_a_reason(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.providers.clear()).await;
    let token = app.user("jay").await;
    let id = app.conversation(&token, "No model").await;
    let (status, _) =
        app.post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({"content": "hello"})).await;
    assert_eq!(status, StatusCode::CREATED, "the user message is accepted and kept");
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[0]["content"], "hello");
    assert_eq!(messages[1]["status"], "failed");
    assert!(messages[1]["error"].as_str().unwrap().contains("OPENAI_API_KEY"), "{}", messages[1]);
    let (_, health) = app.get("/health", &token).await;
    assert_eq!(health["providers"], "none configured");
}

mod revocation {
    use super::*;

    both_backends!(
        revoked_tokens_stop_working_here_within_seconds,
        without_the_revocation_feed_tokens_are_refused
    );

    /// The auth server goes away under a running chat service: once its revocation feed has
    /// not been read for `revocations_max_stale_secs`, tokens are refused with 503 (a
    /// logged-out user's token could not be told from a good one), and `/health` says so.
    async fn without_the_revocation_feed_tokens_are_refused(backend: Backend) {
        let mut app = TestChat::spawn_with(backend, |c| c.chat.revocations_max_stale_secs = 1).await;
        let token = app.user("uli").await;
        assert_eq!(app.get("/api/v1/conversations/", &token).await.0, StatusCode::OK);
        let id = app.conversation(&token, "Uli's").await;
        let mut ws = app.ws(&format!("/ws/{id}?token={token}")).await;
        assert_eq!(ws.next().await["type"], "subscribed");
        let (_, health) =
            crate::helpers::status_json(app.client.get(app.url("/health")).send().await.unwrap()).await;
        assert_eq!(health["revocations"], "ok");
        app.stop_auth().await;
        let mut refused = None;
        for _ in 0..100 {
            let response =
                app.client.get(app.url("/api/v1/conversations/")).bearer_auth(&token).send().await.unwrap();
            if response.status() != StatusCode::OK {
                refused = Some(response);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let response = refused.expect("tokens are refused once the feed is stale");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let (_, error) = crate::helpers::status_json(response).await;
        assert!(error["detail"].as_str().unwrap().contains("revocation list"), "{error}");
        let (_, health) =
            crate::helpers::status_json(app.client.get(app.url("/health")).send().await.unwrap()).await;
        assert_eq!(health["revocations"], "stale", "{health}");
        // An open socket is closed the same way: 1013, "try again later" (clients reconnect).
        let closed = ws.next().await;
        assert_eq!(closed["code"], 1013, "{closed}");
        assert_eq!(closed["reason"], "cannot check sign-ins right now", "{closed}");
    }

    /// Polls `GET /api/v1/conversations/` with `token` until it is refused (10 s at most).
    async fn refused_soon(app: &TestChat, token: &str) -> bool {
        for _ in 0..100 {
            if app.get("/api/v1/conversations/", token).await.0 == StatusCode::UNAUTHORIZED {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    async fn revoked_tokens_stop_working_here_within_seconds(backend: Backend) {
        let app = TestChat::spawn(backend).await;
        let logout = app.user("kay").await;
        let other_session = app.login("kay").await;
        let id = app.conversation(&logout, "Kay's").await;
        let mut ws = app.ws(&format!("/ws/{id}?token={logout}")).await;
        assert_eq!(ws.next().await["type"], "subscribed");

        let response =
            app.client.post(format!("{}/auth/logout", app.auth)).bearer_auth(&logout).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(refused_soon(&app, &logout).await, "a logged-out session's token is refused");
        let closed = ws.next().await;
        assert_eq!(closed["code"], 1008, "the socket of the ended session is closed: {closed}");
        assert_eq!(
            app.get("/api/v1/conversations/", &other_session).await.0,
            StatusCode::OK,
            "other sessions live on"
        );

        let body = json!({"password": "another-long-secret"});
        let response = app
            .client
            .put(format!("{}/users/kay", app.auth))
            .bearer_auth(&other_session)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(refused_soon(&app, &other_session).await, "tokens from before a password change are refused");

        let fresh = app.user("lou").await;
        let admin = app.admin().await;
        let response =
            app.client.delete(format!("{}/users/lou", app.auth)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(refused_soon(&app, &fresh).await, "a deleted user's token is refused");
    }
}

async fn concurrent_sends_chain_up(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("mona").await;
    let id = app.conversation(&token, "Race").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let sends: Vec<_> = (0..6)
        .map(|i| {
            let request = app
                .client
                .post(app.url(&path))
                .bearer_auth(&token)
                .json(&json!({"content": format!("m{i}"), "generate": false}));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap(), StatusCode::CREATED);
    }
    let (_, messages) = app.get(&path, &token).await;
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 6);
    assert_eq!(messages[0]["parent_id"], Value::Null);
    for pair in messages.windows(2) {
        assert_eq!(pair[1]["parent_id"], pair[0]["id"], "each message follows the one before it");
    }
}

async fn unfinished_replies_per_user_are_capped(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("ned").await;
    let id = app.conversation(&token, "Flood").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    for i in 0..8 {
        let (status, _) =
            app.post(&path, &token, json!({"content": format!("[[words=200]][[delay=20]] {i}")})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = app.post(&path, &token, json!({"content": "one too many"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["detail"].as_str().unwrap().contains("in progress"));
    let (_, messages) = app.get(&path, &token).await;
    assert!(
        messages.as_array().unwrap().iter().all(|m| m["content"] != "one too many"),
        "the refused message was not stored"
    );
    // Storing without a reply is still fine, and other users are not affected.
    assert_eq!(
        app.post(&path, &token, json!({"content": "note", "generate": false})).await.0,
        StatusCode::CREATED
    );
    let other = app.user("oda").await;
    let other_id = app.conversation(&other, "Mine").await;
    let (status, _) = app
        .post(&format!("/api/v1/conversations/{other_id}/messages"), &other, json!({"content": "hi"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
