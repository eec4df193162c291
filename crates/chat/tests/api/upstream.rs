//! A hostile or broken provider cannot make a reply unbounded: the server sends `max_tokens`
//! and counts what comes back, bounds a reply's bytes and time, cuts an endless line, reads
//! only the start of an error body, and does not let keep-alive comments hold a stuck reply.
//! Every cut keeps the text so far and says why.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat, Ws, text_of};
use common::both_backends;

both_backends!(
    an_endless_reply_is_cut_at_the_byte_limit,
    the_token_limit_is_sent_and_enforced,
    a_reply_that_streams_too_long_is_cut,
    keep_alive_comments_do_not_keep_a_stuck_reply_alive,
    an_endless_line_breaks_the_stream_off,
    only_the_start_of_an_error_body_is_read,
    partial_text_is_saved_by_appending,
    a_provider_cut_mid_stream_loses_neither_question_nor_partial_reply,
);

async fn ask(app: &TestChat, token: &str, username: &str, content: &str) -> (Ws, String, Vec<Value>) {
    let id = app.conversation(token, "Upstream").await;
    let mut ws = app.ws(&format!("/ws/chat/{username}?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": content})).await;
    let frames = ws.until("generation_done").await;
    (ws, id, frames)
}

/// The stored reply (the conversation's last message), once settled.
async fn stored_reply(app: &TestChat, token: &str, conversation: &str) -> Value {
    app.settled_messages(token, conversation).await.pop().unwrap()
}

/// Waits until the fake provider has no stream in flight (the upstream request was aborted).
async fn upstream_released(app: &TestChat) {
    for _ in 0..200 {
        if app.fake.in_flight() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the upstream stream was never released");
}

async fn an_endless_reply_is_cut_at_the_byte_limit(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.max_reply_bytes = 2048).await;
    let token = app.user("bytes").await;
    let (_ws, id, frames) = ask(&app, &token, "bytes", "[[endless]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "incomplete", "{done}");
    assert_eq!(done["message"]["finish_reason"], "length");
    assert_eq!(done["reason"], "the reply reached the size limit of 2048 bytes");
    let text = text_of(&frames, 1);
    assert_eq!(text.len(), 2048, "filled to the limit, cut inside the last delta");
    assert!(text.starts_with("e1 e2 e3 "), "{text}");
    let stored = stored_reply(&app, &token, &id).await;
    assert_eq!(stored["content"], text.as_str(), "the text so far is kept");
    assert_eq!((&stored["status"], &stored["finish_reason"]), (&json!("incomplete"), &json!("length")));
    assert_eq!(stored["error"], "the reply reached the size limit of 2048 bytes");
    upstream_released(&app).await;
    // With nothing configured, providers are asked for at most 4096 tokens.
    assert_eq!(app.fake.requests()[0]["max_tokens"], 4096);
}

async fn the_token_limit_is_sent_and_enforced(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.max_reply_tokens = 20).await;
    let token = app.user("tokens").await;
    let (_ws, id, frames) = ask(&app, &token, "tokens", "[[endless]]").await;
    assert_eq!(app.fake.requests()[0]["max_tokens"], 20);
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "incomplete", "{done}");
    assert_eq!(done["message"]["finish_reason"], "length");
    let expected: String = (1..=20).map(|i| format!("e{i} ")).collect();
    assert_eq!(text_of(&frames, 1), expected, "a provider ignoring max_tokens is cut after 20 deltas");
    assert_eq!(stored_reply(&app, &token, &id).await["content"], expected.as_str());
    upstream_released(&app).await;

    // A provider's own `max_tokens` wins; 0 sends none.
    let (mut config, fake) = app.stop().await;
    config.chat.providers[0].max_tokens = Some(7);
    let app = TestChat::start(config, fake).await;
    let token = app.login("tokens").await;
    let (_ws, _, frames) = ask(&app, &token, "tokens", "[[endless]]").await;
    assert_eq!(app.fake.requests().last().unwrap()["max_tokens"], 7);
    assert_eq!(text_of(&frames, 1), "e1 e2 e3 e4 e5 e6 e7 ");
    let (mut config, fake) = app.stop().await;
    config.chat.providers[0].max_tokens = Some(0);
    let app = TestChat::start(config, fake).await;
    let token = app.login("tokens").await;
    let (_ws, _, frames) = ask(&app, &token, "tokens", "[[reply=short]]").await;
    assert_eq!(frames.last().unwrap()["status"], "complete");
    assert!(app.fake.requests().last().unwrap().get("max_tokens").is_none());
}

async fn a_reply_that_streams_too_long_is_cut(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.max_reply_secs = 1).await;
    let token = app.user("slow").await;
    let (_ws, id, frames) = ask(&app, &token, "slow", "[[endless]][[delay=50]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "incomplete", "{done}");
    assert_eq!(done["reason"], "the reply reached the time limit of 1 second");
    let text = text_of(&frames, 1);
    assert!(text.starts_with("e1 "), "{text}");
    assert_eq!(stored_reply(&app, &token, &id).await["content"], text.as_str());
    upstream_released(&app).await;
}

async fn keep_alive_comments_do_not_keep_a_stuck_reply_alive(backend: Backend) {
    // The idle timeout is 2 s in tests; comments come every 50 ms, forever.
    let app = TestChat::spawn(backend).await;
    let token = app.user("pings").await;
    let (_ws, id, frames) = ask(&app, &token, "pings", "[[words=5]][[comments_after=2]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["reason"], "the model provider timed out");
    assert_eq!(stored_reply(&app, &token, &id).await["content"], "w1 w2 ");
    upstream_released(&app).await;
}

async fn an_endless_line_breaks_the_stream_off(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.max_stream_line_bytes = 65_536).await;
    let token = app.user("line").await;
    let (_ws, id, frames) = ask(&app, &token, "line", "[[words=5]][[endless_line_after=2]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        done["reason"],
        "the model provider's stream broke off: the stream sent a line longer than 65536 bytes"
    );
    assert_eq!(stored_reply(&app, &token, &id).await["content"], "w1 w2 ");
    upstream_released(&app).await;
}

async fn only_the_start_of_an_error_body_is_read(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("errors").await;
    let (_ws, _, frames) = ask(&app, &token, "errors", "[[status=500]][[endless_body]]").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["reason"], "the model provider answered with an error (500): no details");
}

async fn partial_text_is_saved_by_appending(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("saver").await;
    let id = app.conversation(&token, "Saving").await;
    let mut ws = app.ws(&format!("/ws/chat/saver?token={token}")).await;
    // Multi-byte text, slowly, cut by the token limit so that it can be continued.
    let more = " ünd wëiter gëht's ïmmer, ëin Wört nàch dëm ändërn, bïs dïe Gëschïchtë ëndlïch zü Ëndë ïst";
    let reply = "Ünïcödé wörds — ünder wäy, ñot ASCII ànd lóng énough to bé sáved séveral tïmes";
    ws.send(
        "send_message",
        json!({"conversation_id": id, "content": format!("[[reply={reply}]][[delay=80]][[length]][[continue={more}]]")}),
    )
    .await;
    let seen = watch_partial_text(&app, &token, &id).await;
    let frames = ws.until("generation_done").await;
    assert_eq!(frames.last().unwrap()["message"]["content"], reply);
    assert!(
        seen.iter().any(|t| !t.is_empty() && t.len() < reply.len()),
        "a partial text was saved: {seen:?}"
    );
    for text in &seen {
        assert!(reply.starts_with(text.as_str()), "{text:?} is a prefix of the reply");
    }

    // A continuation appends to the stored text.
    let reply_id = frames.last().unwrap()["message"]["id"].as_str().unwrap().to_owned();
    ws.send("continue", json!({"message_id": reply_id})).await;
    let seen = watch_partial_text(&app, &token, &id).await;
    let frames = ws.until("generation_done").await;
    let whole = format!("{reply}{more}");
    assert_eq!(frames.last().unwrap()["message"]["content"], whole.as_str());
    assert!(seen.iter().any(|t| t.len() > reply.len() && t.len() < whole.len()), "{seen:?}");
    for text in &seen {
        assert!(whole.starts_with(text.as_str()) && text.starts_with(reply), "{text:?}");
    }
    assert_eq!(stored_reply(&app, &token, &id).await["content"], whole.as_str());
}

/// The stored text of the conversation's last message each time it is read while streaming.
async fn watch_partial_text(app: &TestChat, token: &str, conversation: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..400 {
        let (_, messages) = app.get(&format!("/api/v1/conversations/{conversation}/messages"), token).await;
        let last = messages.as_array().and_then(|m| m.last()).cloned().unwrap_or(Value::Null);
        if last["role"] == "assistant" && last["status"] == "streaming" {
            seen.push(last["content"].as_str().unwrap_or_default().to_owned());
        } else if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    seen
}

async fn a_provider_cut_mid_stream_loses_neither_question_nor_partial_reply(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("cut").await;
    let question = "[[words=10]][[drop_after=3]]";
    let (_ws, id, frames) = ask(&app, &token, "cut", question).await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["reason"].as_str().unwrap().starts_with("the model provider's stream broke off"), "{done}");
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages.len(), 2);
    assert_eq!((&messages[0]["role"], &messages[0]["content"]), (&json!("user"), &json!(question)));
    assert_eq!((&messages[1]["status"], &messages[1]["content"]), (&json!("failed"), &json!("w1 w2 w3 ")));
    upstream_released(&app).await;
}
