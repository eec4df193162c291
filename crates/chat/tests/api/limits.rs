//! Per-user limits of the chat service: unfinished replies, write rates and quotas.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat, status_json};
use common::both_backends;
use common::config::WriteLimits;

both_backends!(
    parallel_requests_never_start_more_replies_than_the_cap,
    message_rates_refuse_with_retry_after_over_rest_and_websocket,
    conversation_and_byte_rates_are_enforced,
    storage_quotas_refuse_until_something_is_deleted,
    regenerating_counts_against_the_message_rate,
);

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

fn no_limits() -> WriteLimits {
    WriteLimits {
        messages_per_minute: 0,
        conversations_per_hour: 0,
        bytes_per_day: 0,
        max_conversations: 0,
        max_messages: 0,
        max_bytes: 0,
    }
}

/// POSTs a message without a reply; the status, `Retry-After` and body.
async fn post_plain(
    app: &TestChat,
    token: &str,
    id: &str,
    content: &str,
) -> (StatusCode, Option<u64>, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{id}/messages")))
        .bearer_auth(token)
        .json(&json!({"content": content, "generate": false}))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let (status, body) = status_json(response).await;
    (status, retry_after, body)
}

async fn message_rates_refuse_with_retry_after_over_rest_and_websocket(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.limits = WriteLimits { messages_per_minute: 3, ..no_limits() };
        config.chat.role_limits.insert("admin".into(), no_limits());
    })
    .await;
    let token = app.user("alice").await;
    let id = app.conversation(&token, "Rates").await;
    for i in 0..3 {
        let (status, _, body) = post_plain(&app, &token, &id, &format!("message {i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, retry_after, body) = post_plain(&app, &token, &id, "one too many").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry_after = retry_after.expect("a Retry-After header");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("Too many messages: at most 3 a minute; try again in "), "{detail}");

    // The socket path shares the bucket and says the same.
    let mut ws = app.ws(&format!("/ws/chat/alice?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "over the socket"})).await;
    let error = ws.until("error").await.pop().unwrap();
    assert_eq!(error["code"], "rate_limited");
    assert!(
        error["detail"].as_str().unwrap().starts_with("Too many messages: at most 3 a minute"),
        "{error}"
    );

    // Nothing accepted was lost, nothing refused was stored.
    let (_, messages) = app.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
    let contents: Vec<_> =
        messages.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["message 0", "message 1", "message 2"]);

    // Another user has a bucket of their own, and a role can lift the limit.
    let bob = app.user("bob").await;
    let theirs = app.conversation(&bob, "Bob's").await;
    assert_eq!(post_plain(&app, &bob, &theirs, "hello").await.0, StatusCode::CREATED);
    let admin = app.admin().await;
    let mine = app.conversation(&admin, "Admin's").await;
    for i in 0..6 {
        assert_eq!(post_plain(&app, &admin, &mine, &format!("admin {i}")).await.0, StatusCode::CREATED);
    }
}

async fn conversation_and_byte_rates_are_enforced(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.limits = WriteLimits { conversations_per_hour: 2, bytes_per_day: 1000, ..no_limits() };
    })
    .await;
    let token = app.user("alice").await;
    let id = app.conversation(&token, "One").await;
    app.conversation(&token, "Two").await;
    let response = app
        .client
        .post(app.url("/api/v1/conversations/"))
        .bearer_auth(&token)
        .json(&json!({"title": "Three"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key(reqwest::header::RETRY_AFTER));
    let (status, body) = status_json(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["detail"].as_str().unwrap().starts_with("Too many new conversations: at most 2 an hour"),
        "{body}"
    );
    let mut ws = app.ws(&format!("/ws/chat/alice?token={token}")).await;
    ws.send("start_conversation", json!({"title": "Over the socket"})).await;
    let error = ws.until("error").await.pop().unwrap();
    assert_eq!(error["code"], "rate_limited");
    assert!(error["detail"].as_str().unwrap().starts_with("Too many new conversations"), "{error}");

    let text = "x".repeat(600);
    assert_eq!(post_plain(&app, &token, &id, &text).await.0, StatusCode::CREATED);
    let (status, retry_after, body) = post_plain(&app, &token, &id, &text).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry_after.is_some());
    assert!(
        body["detail"].as_str().unwrap().starts_with("Too much text sent: at most 1000 bytes a day"),
        "{body}"
    );
    // A smaller message still fits.
    assert_eq!(post_plain(&app, &token, &id, "short").await.0, StatusCode::CREATED);
}

async fn storage_quotas_refuse_until_something_is_deleted(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.limits =
            WriteLimits { max_conversations: 2, max_messages: 3, max_bytes: 100, ..no_limits() };
    })
    .await;
    let token = app.user("alice").await;
    let first = app.conversation(&token, "One").await;
    let second = app.conversation(&token, "Two").await;
    let (status, body) = app.post("/api/v1/conversations/", &token, json!({"title": "Three"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("2 conversations, the most you may keep"), "{body}");

    assert_eq!(post_plain(&app, &token, &first, &"a".repeat(60)).await.0, StatusCode::CREATED);
    let (status, _, body) = post_plain(&app, &token, &second, &"b".repeat(60)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("this one would pass your limit of 100"), "{body}");
    assert_eq!(post_plain(&app, &token, &second, "b").await.0, StatusCode::CREATED);
    assert_eq!(post_plain(&app, &token, &second, "c").await.0, StatusCode::CREATED);
    let (status, _, body) = post_plain(&app, &token, &second, "d").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("3 messages, the most you may keep"), "{body}");

    // Deleting makes room again.
    assert_eq!(app.delete(&format!("/api/v1/conversations/{first}"), &token).await, StatusCode::NO_CONTENT);
    app.conversation(&token, "Three").await;
    assert_eq!(post_plain(&app, &token, &second, "d").await.0, StatusCode::CREATED);
}

async fn regenerating_counts_against_the_message_rate(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.limits = WriteLimits { messages_per_minute: 2, ..no_limits() };
    })
    .await;
    let token = app.user("rita").await;
    let id = app.conversation(&token, "Again and again").await;
    let mut ws = app.ws(&format!("/ws/chat/rita?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "question"})).await;
    let reply = ws.until("generation_done").await.pop().unwrap()["message"].clone();
    // Each new version of the reply is a stored message like a sent one: the second is over.
    ws.send("regenerate", json!({"message_id": reply["id"]})).await;
    ws.until("generation_done").await;
    ws.send("regenerate", json!({"message_id": reply["id"]})).await;
    let error = ws.until("error").await.pop().unwrap();
    assert_eq!(error["code"], "rate_limited", "{error}");
    assert!(
        error["detail"].as_str().unwrap().starts_with("Too many messages: at most 2 a minute"),
        "{error}"
    );
    let (_, messages) = app.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
    assert_eq!(messages.as_array().unwrap().len(), 3, "the question and two versions of the reply");
}
