//! Per-user limits of the chat service: unfinished replies, write rates and quotas.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat};
use common::both_backends;

both_backends!(parallel_requests_never_start_more_replies_than_the_cap);

const CAP: usize = chat::generation::MAX_UNFINISHED_PER_USER;

async fn parallel_requests_never_start_more_replies_than_the_cap(backend: Backend) {
    // Replies that never get a token and never time out: each stays unfinished.
    let app = TestChat::spawn_with(backend, |config| config.chat.first_token_timeout_secs = 3600).await;
    let token = app.user("alice").await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(app.conversation(&token, &format!("Parallel {i}")).await);
    }
    // 20 over REST and 10 over as many sockets, all at once.
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(app.ws(&format!("/ws/chat/alice?token={token}")).await);
    }
    let paths: Vec<String> =
        ids[..20].iter().map(|id| format!("/api/v1/conversations/{id}/messages")).collect();
    let rest = paths.iter().map(|path| app.post(path, &token, json!({"content": "[[stall]]"})));
    let ws = sockets.iter_mut().zip(&ids[20..]).map(|(socket, id)| async move {
        socket.send("send_message", json!({"conversation_id": id, "content": "[[stall]]"})).await;
        loop {
            let frame = socket.next().await;
            match frame["type"].as_str() {
                Some("generation_started") => return (StatusCode::CREATED, frame),
                Some("error") => return (StatusCode::TOO_MANY_REQUESTS, frame),
                _ => continue,
            }
        }
    });
    let (rest, ws) = tokio::join!(futures_util::future::join_all(rest), futures_util::future::join_all(ws));
    let answers: Vec<(StatusCode, Value)> = rest.into_iter().chain(ws).collect();
    let started = answers.iter().filter(|(status, _)| *status == StatusCode::CREATED).count();
    let refused: Vec<_> =
        answers.iter().filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS).collect();
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| status.as_u16()).collect();
    assert_eq!(started + refused.len(), 30, "{answers:?}");
    assert_eq!(started, CAP, "{statuses:?}");
    for (_, body) in &refused {
        assert!(body["detail"].as_str().unwrap().contains("Too many replies in progress"), "{body}");
    }
    // Nothing more reached the provider, and the refused messages were not stored.
    let (_, conversations) = app.get("/api/v1/conversations/", &token).await;
    let mut stored = 0;
    for conversation in conversations.as_array().unwrap() {
        let id = conversation["id"].as_str().unwrap();
        let (_, messages) = app.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
        stored += messages.as_array().unwrap().iter().filter(|m| m["role"] == "assistant").count();
    }
    assert_eq!(stored, CAP);
    assert!(app.fake.started() <= CAP);
    // Another user is not affected.
    let bob = app.user("bob").await;
    let theirs = app.conversation(&bob, "Bob's").await;
    let (status, _) =
        app.post(&format!("/api/v1/conversations/{theirs}/messages"), &bob, json!({"content": "hi"})).await;
    assert_eq!(status, StatusCode::CREATED);
}
