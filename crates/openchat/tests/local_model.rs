//! The embedded local model end to end, through the WebSocket, with the real default model
//! (SmolLM2-135M-Instruct). `scripts/test` downloads it once per machine and names it in
//! `OPENCHAT_TEST_MODEL`. SQLite only: the database plays no part in what is tested here.

use std::path::PathBuf;

use common::testing::TestBackend;
use serde_json::json;

use crate::helpers::{TestChat, text_of};

fn model_path() -> PathBuf {
    let path = match std::env::var_os("OPENCHAT_TEST_MODEL") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/openchat/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    };
    assert!(
        path.is_file(),
        "the default model is not at {}: run scripts/test (it downloads it) or set OPENCHAT_TEST_MODEL",
        path.display()
    );
    path
}

/// The chat service with the local model only, greedy, replies of at most `max_tokens`.
async fn with_local_model(max_tokens: u32) -> TestChat {
    let model = model_path();
    TestChat::spawn_with(TestBackend::Sqlite, |c| {
        c.chat.providers.clear();
        c.chat.local.model = model.display().to_string();
        c.chat.local.temperature = 0.0;
        c.chat.local.max_tokens = max_tokens;
        // A slow machine must not be mistaken for a silent provider.
        c.chat.first_token_timeout_secs = 60;
        c.chat.idle_timeout_secs = 60;
    })
    .await
}

#[tokio::test]
async fn a_local_model_reply_streams_over_the_websocket_with_gap_free_seq() {
    let app = with_local_model(48).await;
    let token = app.user("lou").await;
    let (_, models) = app.get("/api/v1/models", &token).await;
    assert_eq!(models["default_model"], "smollm2-135m-instruct");
    assert_eq!(models["models"][0]["provider"], "local");
    let id = app.conversation(&token, "Geography").await;
    let mut ws = app.ws(&format!("/ws/chat/lou?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "What is the capital of France?"}))
        .await;
    let frames = ws.until("generation_done").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete", "{done}");
    let deltas = frames.iter().filter(|f| f["type"] == "delta").count();
    assert!(deltas > 1, "streamed token by token, not at once: {frames:?}");
    let text = text_of(&frames, 1);
    assert!(text.contains("Paris"), "{text}");
    assert_eq!(done["message"]["content"], text);
    assert_eq!(done["message"]["model"], "smollm2-135m-instruct");
    assert!(done["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{done}");
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[1]["content"], text);
}

/// Two conversations at once: the model answers one after the other, and the waiting reply
/// says `generation_queued` with its place instead of staying silent.
#[tokio::test]
async fn a_second_conversation_waits_for_the_model_and_is_told_its_place() {
    let app = with_local_model(32).await;
    let token = app.user("max").await;
    let first = app.conversation(&token, "One").await;
    let second = app.conversation(&token, "Two").await;
    let mut ws = app.ws(&format!("/ws/chat/max?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": first, "content": "What is the capital of France?"}))
        .await;
    ws.send("send_message", json!({"conversation_id": second, "content": "What is the capital of Italy?"}))
        .await;
    let mut frames = Vec::new();
    while frames.iter().filter(|f: &&serde_json::Value| f["type"] == "generation_done").count() < 2 {
        frames.push(ws.next().await);
    }
    let queued: Vec<_> = frames.iter().filter(|f| f["type"] == "generation_queued").collect();
    assert!(!queued.is_empty(), "the waiting reply said so: {frames:?}");
    assert!(queued.iter().all(|f| f["position"] == 1), "{queued:?}");
    for done in frames.iter().filter(|f| f["type"] == "generation_done") {
        assert_eq!(done["status"], "complete", "{done}");
        let generation = &done["generation_id"];
        let own: Vec<_> = frames.iter().filter(|f| &f["generation_id"] == generation).cloned().collect();
        assert!(!text_of(&own, 1).trim().is_empty(), "{own:?}");
    }
}
