//! How replies are placed and how they end: the server's order (`position`), answering the
//! branch the user sees (`parent_id`), replies cut by the token limit and their continuation,
//! and titles of conversations whose first reply did not complete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat, text_of};
use common::both_backends;

both_backends!(
    messages_carry_the_server_order,
    a_message_can_answer_the_branch_the_user_sees,
    a_reply_cut_by_the_token_limit_is_incomplete_and_can_be_continued,
    only_replies_that_ended_early_can_be_continued,
    a_stopped_first_reply_still_names_the_conversation,
);

async fn messages_carry_the_server_order(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("olga").await;
    let id = app.conversation(&token, "Order").await;
    let mut ws = app.ws(&format!("/ws/chat/olga?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=one]]"})).await;
    let frames = ws.until("generation_done").await;
    let accepted = frames.iter().find(|f| f["type"] == "message_accepted").unwrap();
    let started = frames.iter().find(|f| f["type"] == "generation_started").unwrap();
    assert_eq!(accepted["message"]["position"], 1);
    assert_eq!(started["position"], 2, "generation_started places the reply");
    assert_eq!(started["prefix"], "");
    assert_eq!(frames.last().unwrap()["message"]["position"], 2);
    // The user message and its reply are stored together, in the same millisecond: the
    // position, not the time, orders them.
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[0]["created_at"], messages[1]["created_at"]);
    let positions: Vec<_> = messages.iter().map(|m| m["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, [1, 2]);
}

async fn a_message_can_answer_the_branch_the_user_sees(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("pia").await;
    let id = app.conversation(&token, "Branches").await;
    let mut ws = app.ws(&format!("/ws/chat/pia?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=first]]"})).await;
    let first = ws.until("generation_done").await.pop().unwrap()["message"].clone();
    ws.send("regenerate", json!({"message_id": first["id"]})).await;
    let second = ws.until("generation_done").await.pop().unwrap()["message"].clone();
    // The user went back to the first version and follows up on it.
    let posted = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &token,
            json!({"content": "[[reply=on the first]]", "parent_id": first["id"]}),
        )
        .await
        .1;
    assert_eq!(posted["parent_id"], first["id"], "it answers the first version, not the newest message");
    let done = ws.until("generation_done").await.pop().unwrap();
    assert_eq!(done["message"]["content"], "on the first");
    assert_eq!(done["message"]["parent_id"], posted["id"]);
    // Over the socket too.
    ws.send(
        "send_message",
        json!({"conversation_id": id, "content": "[[reply=again]]", "parent_id": second["id"]}),
    )
    .await;
    let accepted = ws.until("message_accepted").await.pop().unwrap();
    assert_eq!(accepted["message"]["parent_id"], second["id"]);
    ws.until("generation_done").await;

    // A parent from another conversation (or nowhere) is refused, and nothing is stored.
    let other = app.conversation(&token, "Other").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/conversations/{other}/messages"),
            &token,
            json!({"content": "x", "parent_id": first["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("parent_id"), "{body}");
    let (_, messages) = app.get(&format!("/api/v1/conversations/{other}/messages"), &token).await;
    assert_eq!(messages, json!([]));
    let intruder = app.user("quinn").await;
    let theirs = app.conversation(&intruder, "Theirs").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/conversations/{theirs}/messages"),
            &intruder,
            json!({"content": "x", "parent_id": first["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another user's message is no parent");
}

async fn a_reply_cut_by_the_token_limit_is_incomplete_and_can_be_continued(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("rita").await;
    let id = app.conversation(&token, "Long").await;
    let mut ws = app.ws(&format!("/ws/chat/rita?token={token}")).await;
    ws.send(
        "send_message",
        json!({"conversation_id": id, "content": "[[reply=It was a dark and]] [[length]]"}),
    )
    .await;
    let frames = ws.until("generation_done").await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "incomplete");
    assert_eq!(done["message"]["status"], "incomplete");
    assert_eq!(done["message"]["finish_reason"], "length");
    let reply_id = done["message"]["id"].as_str().unwrap().to_owned();
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(
        (&messages[1]["status"], &messages[1]["finish_reason"]),
        (&json!("incomplete"), &json!("length"))
    );

    ws.send("continue", json!({"message_id": reply_id})).await;
    let frames = ws.until("generation_done").await;
    let started = frames.iter().find(|f| f["type"] == "generation_started").unwrap();
    assert_eq!(started["message_id"], reply_id.as_str());
    assert_eq!(started["prefix"], "It was a dark and");
    assert_eq!(started["position"], 2, "the same message keeps its place");
    // The model was asked to carry on from the stored text.
    let request = app.fake.requests().pop().unwrap();
    let last = request["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last, json!({"role": "assistant", "content": "It was a dark and"}));
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete");
    let more = text_of(&frames, 1);
    assert_eq!(done["message"]["content"], format!("It was a dark and{more}"));
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages.len(), 2, "continued in place, not as a new message");
    assert_eq!(messages[1]["content"], format!("It was a dark and{more}"));
    assert_eq!(messages[1]["finish_reason"], Value::Null);
}

async fn only_replies_that_ended_early_can_be_continued(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("sam").await;
    let id = app.conversation(&token, "Continue").await;
    let mut ws = app.ws(&format!("/ws/chat/sam?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=all done]]"})).await;
    let done = ws.until("generation_done").await.pop().unwrap();
    let complete_id = done["message"]["id"].clone();
    let question_id = done["message"]["parent_id"].clone();
    ws.send("continue", json!({"message_id": complete_id})).await;
    let error = ws.until("error").await.pop().unwrap();
    assert_eq!(error["code"], "invalid_input", "{error}");
    ws.send("continue", json!({"message_id": question_id})).await;
    assert_eq!(ws.until("error").await.pop().unwrap()["code"], "invalid_input");
    ws.send("continue", json!({"message_id": "nope"})).await;
    assert_eq!(ws.until("error").await.pop().unwrap()["code"], "not_found");

    // A stopped reply can be continued, but not once something follows it.
    ws.send("send_message", json!({"conversation_id": id, "content": "[[words=500]][[delay=20]]"})).await;
    let started = ws.until("generation_started").await.pop().unwrap();
    ws.until("delta").await;
    ws.send("stop", json!({"generation_id": started["generation_id"]})).await;
    let stopped = ws.until("generation_done").await.pop().unwrap();
    assert_eq!(stopped["status"], "cancelled");
    let stopped_id = stopped["message"]["id"].clone();
    app.post(
        &format!("/api/v1/conversations/{id}/messages"),
        &token,
        json!({"content": "next", "generate": false, "parent_id": stopped_id}),
    )
    .await;
    ws.send("continue", json!({"message_id": stopped_id})).await;
    let error = ws.until("error").await.pop().unwrap();
    assert_eq!(error["code"], "invalid_input");
    assert!(error["detail"].as_str().unwrap().contains("last reply"), "{error}");

    // Two continuations at once: one runs, the other is refused.
    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=cut here]] [[length]]"})).await;
    let cut = ws.until("generation_done").await.pop().unwrap();
    let cut_id = cut["message"]["id"].clone();
    ws.send("continue", json!({"message_id": cut_id})).await;
    ws.send("continue", json!({"message_id": cut_id})).await;
    let mut frames = Vec::new();
    while !(frames.iter().any(|f: &Value| f["type"] == "generation_done")
        && frames.iter().any(|f| f["type"] == "error"))
    {
        frames.push(ws.next().await);
    }
    let started = frames.iter().filter(|f| f["type"] == "generation_started").count();
    assert_eq!(started, 1, "{frames:?}");
    let error = frames.iter().find(|f| f["type"] == "error").unwrap();
    assert!(matches!(error["code"].as_str(), Some("conflict" | "invalid_input")), "{error}");
}

async fn a_stopped_first_reply_still_names_the_conversation(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("tara").await;
    let mut ws = app.ws(&format!("/ws/chat/tara?token={token}")).await;
    ws.send("start_conversation", json!({})).await;
    let id =
        ws.until("conversation_started").await.pop().unwrap()["conversation_id"].as_str().unwrap().to_owned();
    ws.send(
        "send_message",
        json!({"conversation_id": id, "content": "Plan a weekend in Lisbon [[words=500]][[delay=20]]"}),
    )
    .await;
    let started = ws.until("generation_started").await.pop().unwrap();
    ws.until("delta").await;
    ws.send("stop", json!({"generation_id": started["generation_id"]})).await;
    ws.until("generation_done").await;
    let updated = ws.until("conversation_updated").await.pop().unwrap();
    let title = updated["conversation"]["title"].as_str().unwrap();
    assert!(title.starts_with("Plan a weekend in Lisbon"), "named from the question: {title}");
    let requests = app.fake.requests();
    assert_eq!(requests.len(), 1, "no model call for the title of a stopped reply");
}
