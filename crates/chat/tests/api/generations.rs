//! Generations against a misbehaving provider, ordering, and Anthropic. (A crash mid-reply is
//! tested with the real binary in `crates/openchat/tests/restart.rs`.)

use common::config::{ProviderConfig, ProviderKind};
use serde_json::json;

use crate::helpers::{Backend, TestChat, text_of};
use common::both_backends;

both_backends!(
    provider_failure_mid_stream_keeps_the_partial_text,
    provider_timeout_before_the_first_token,
    provider_http_errors_become_reasons,
    messages_sent_during_a_reply_are_answered_in_order,
    anthropic_streams_through_the_same_generation,
);

async fn reply_frames(app: &TestChat, token: &str, username: &str, content: &str) -> Vec<serde_json::Value> {
    let id = app.conversation(token, "Provider behaviour").await;
    let mut ws = app.ws(&format!("/ws/chat/{username}?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": content})).await;
    ws.until("generation_done").await
}

async fn provider_failure_mid_stream_keeps_the_partial_text(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("alice").await;
    let frames = reply_frames(&app, &token, "alice", "[[words=10]][[fail_after=3]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "failed");
    assert!(done["reason"].as_str().unwrap().contains("broke off"), "{done}");
    assert_eq!(text_of(&frames, 1), "w1 w2 w3 ");
    assert_eq!(done["message"]["content"], "w1 w2 w3 ");
    assert_eq!(done["message"]["status"], "failed");

    let frames = reply_frames(&app, &token, "alice", "[[words=10]][[drop_after=2]]").await;
    assert_eq!(frames.last().unwrap()["status"], "failed");
    assert_eq!(text_of(&frames, 1), "w1 w2 ");
}

async fn provider_timeout_before_the_first_token(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("bob").await;
    let frames = reply_frames(&app, &token, "bob", "[[stall]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "failed");
    assert_eq!(done["reason"], "the model provider timed out");
    // Going silent mid-stream hits the idle timeout the same way, keeping what came before.
    let frames = reply_frames(&app, &token, "bob", "[[words=10]][[stall_after=2]]").await;
    assert_eq!(frames.last().unwrap()["status"], "failed");
    assert_eq!(frames.last().unwrap()["message"]["content"], "w1 w2 ");
}

async fn provider_http_errors_become_reasons(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("carl").await;
    for (status, expected) in [
        (500, "the model provider answered with an error (500): scripted failure 500"),
        (401, "the model provider refused the API key"),
        (429, "the model provider is rate limiting requests; try again shortly"),
    ] {
        let frames = reply_frames(&app, &token, "carl", &format!("[[status={status}]]")).await;
        let done = frames.last().unwrap();
        assert_eq!(done["status"], "failed");
        assert_eq!(done["reason"], expected);
        assert!(!done["reason"].as_str().unwrap().contains("test-key"), "no secrets in reasons");
    }
}

async fn messages_sent_during_a_reply_are_answered_in_order(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("dana").await;
    let id = app.conversation(&token, "Queue").await;
    let mut ws = app.ws(&format!("/ws/chat/dana?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=first answer]][[delay=30]]"}))
        .await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=second answer]]"})).await;
    let mut frames = ws.until("generation_done").await;
    frames.extend(ws.until("generation_done").await);
    let kinds: Vec<_> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"generation_queued"), "{kinds:?}");
    let done: Vec<_> = frames.iter().filter(|f| f["type"] == "generation_done").collect();
    assert_eq!(done[0]["message"]["content"], "first answer");
    assert_eq!(done[1]["message"]["content"], "second answer");
    let messages = app.settled_messages(&token, &id).await;
    let contents: Vec<_> = messages.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents.len(), 4);
    // The second reply was asked with the first exchange as context.
    let second_request =
        app.fake.requests().into_iter().find(|r| r.to_string().contains("second answer")).unwrap();
    assert!(second_request.to_string().contains("first answer"), "{second_request}");
}

async fn anthropic_streams_through_the_same_generation(backend: Backend) {
    let app = TestChat::spawn_with(backend, |_| {}).await;
    let (mut config, fake) = app.stop().await;
    config.chat.providers = vec![ProviderConfig {
        kind: ProviderKind::Anthropic,
        name: Some("anthropic".into()),
        base_url: Some(fake.anthropic_base()),
        api_key: Some("anthropic-test-key".into()),
        models: vec!["claude-test".into()],
        allow: Vec::new(),
        deny: Vec::new(),
        hide_non_chat: None,
        max_tokens: None,
    }];
    let app = TestChat::start(config, fake).await;
    let token = app.user("erin").await;
    let (_, created) = app
        .post("/api/v1/conversations/", &token, json!({"title": "Claude", "system_prompt": "Be kind."}))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut ws = app.ws(&format!("/ws/chat/erin?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=Hi from Claude]]"})).await;
    let frames = ws.until("generation_done").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete");
    assert_eq!(text_of(&frames, 1), "Hi from Claude");
    assert_eq!(done["usage"]["completion_tokens"], 3);
    assert!(done["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let request = app.fake.requests().pop().unwrap();
    assert_eq!(request["system"], "Be kind.");
    assert_eq!(request["model"], "claude-test");
    assert!(request["messages"].as_array().unwrap().iter().all(|m| m["role"] != "system"));
}
