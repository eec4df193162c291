//! The embedded local model end to end — the real `openchat serve`, through the WebSocket —
//! with the real default model (SmolLM2-135M-Instruct). `scripts/test` downloads it once per
//! machine and names it in `OPENCHAT_TEST_MODEL`. SQLite only: the database plays no part in
//! what is tested here.

mod support;

use std::path::PathBuf;

use common::testing::temp_dir;
use serde_json::json;

use support::{Server, Setup, text_of};

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

/// `openchat serve` with the local model only, greedy, replies of at most `max_tokens`.
async fn with_local_model(max_tokens: u32) -> Server {
    let mut setup = Setup::new(&temp_dir("openchat-local-model"));
    setup.set("OPENCHAT_LOCAL_MODEL", model_path().display().to_string());
    setup.set("OPENCHAT_LOCAL_TEMPERATURE", "0");
    setup.set("OPENCHAT_LOCAL_MAX_TOKENS", max_tokens.to_string());
    // A slow machine must not be mistaken for a silent provider.
    setup.set("OPENCHAT_FIRST_TOKEN_TIMEOUT_SECS", "60");
    setup.set("OPENCHAT_IDLE_TIMEOUT_SECS", "60");
    setup.start().await
}

/// Zero configuration: no provider, the default local model. Here its file is missing, so it is
/// listed but each reply fails with a sentence naming the file and `openchat model pull`, and
/// the rest of the service works.
#[tokio::test]
async fn without_a_provider_the_local_model_is_the_default() {
    let dir = temp_dir("openchat-no-model");
    let app = Setup::new(&dir).start().await;
    let token = app.user("kim").await;
    let models = app.get("/api/v1/models", &token).await;
    assert_eq!(models["default_model"], "smollm2-135m-instruct");
    assert_eq!(models["models"], json!([{"id": "smollm2-135m-instruct", "provider": "local"}]));
    let id = app.conversation(&token, "Local").await;
    let (status, _) =
        app.post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({"content": "hello"})).await;
    assert_eq!(status, 201);
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[1]["status"], "failed");
    let error = messages[1]["error"].as_str().unwrap();
    let file = dir.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(error.contains(&file.display().to_string()), "{error}");
    assert!(error.contains("openchat model pull"), "{error}");
}

/// With a provider configured, the local model is one more model, never the default.
#[tokio::test]
async fn the_local_model_is_one_more_model_beside_the_providers() {
    let fake = fake_llm::FakeLlm::start().await;
    let mut setup = Setup::new(&temp_dir("openchat-beside"));
    setup.set("OPENAI_BASE_URL", fake.openai_base());
    setup.set("OPENAI_API_KEY", "test-key");
    setup.set("OPENCHAT_LOCAL_MODEL", "/nonexistent/Tiny-Model.gguf");
    let app = setup.start().await;
    let token = app.user("lee").await;
    let models = app.get("/api/v1/models", &token).await;
    assert_eq!(models["default_model"], "fake-model", "a configured provider stays the default");
    let listed = models["models"].as_array().unwrap();
    assert_eq!(listed.len(), fake_llm::MODELS.len() + 1);
    assert_eq!(listed.last().unwrap(), &json!({"id": "tiny-model", "provider": "local"}));
    let id = app.conversation(&token, "Fake").await;
    app.post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({"content": "[[reply=fine]]"}))
        .await;
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!((&messages[1]["status"], &messages[1]["content"]), (&json!("complete"), &json!("fine")));
}

#[tokio::test]
async fn a_local_model_reply_streams_over_the_websocket_with_gap_free_seq() {
    let app = with_local_model(48).await;
    let token = app.user("lou").await;
    let models = app.get("/api/v1/models", &token).await;
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
    let text = text_of(&frames);
    assert!(text.contains("Paris"), "{text}");
    assert_eq!(done["message"]["content"], text);
    assert_eq!(done["message"]["model"], "smollm2-135m-instruct");
    assert!(done["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{done}");
    let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
    assert_eq!(messages[1]["content"], text);
    assert_eq!(messages[1]["status"], "complete");
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
        // Answered (whole, or up to the 32-token limit).
        assert!(matches!(done["status"].as_str(), Some("complete" | "incomplete")), "{done}");
        let generation = &done["generation_id"];
        let own: Vec<_> = frames.iter().filter(|f| &f["generation_id"] == generation).cloned().collect();
        assert!(!text_of(&own).trim().is_empty(), "{own:?}");
    }
}

/// A reply cut by the token limit ends `incomplete` with reason `length`, and `continue`
/// extends the same message from where it stopped.
#[tokio::test]
async fn a_reply_cut_by_the_token_limit_is_incomplete_and_continues() {
    let app = with_local_model(8).await;
    let token = app.user("cora").await;
    let id = app.conversation(&token, "Counting").await;
    let mut ws = app.ws(&format!("/ws/chat/cora?token={token}")).await;
    let question = "Count from one to fifty in words, separated by commas.";
    ws.send("send_message", json!({"conversation_id": id, "content": question})).await;
    let frames = ws.until("generation_done").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "incomplete", "{done}");
    assert_eq!(done["message"]["finish_reason"], "length", "{done}");
    let first = done["message"]["content"].as_str().unwrap().to_owned();
    assert_eq!(first, text_of(&frames));
    let reply_id = done["message"]["id"].as_str().unwrap().to_owned();

    ws.send("continue", json!({ "message_id": reply_id })).await;
    let frames = ws.until("generation_done").await;
    let started = frames.iter().find(|f| f["type"] == "generation_started").expect("a new generation");
    assert_eq!(started["message_id"], reply_id.as_str());
    assert_eq!(started["prefix"], first.as_str(), "the continuation starts from the stored text");
    let done = frames.last().unwrap();
    let more = text_of(&frames);
    assert!(!more.is_empty(), "{frames:?}");
    assert_eq!(done["message"]["content"], format!("{first}{more}"));
    assert_eq!(done["message"]["id"], reply_id.as_str(), "the same message, extended");
    let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
    assert_eq!(messages.as_array().unwrap().len(), 2, "{messages}");
    assert_eq!(messages[1]["content"], format!("{first}{more}"));
}
