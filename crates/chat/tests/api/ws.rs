//! The WebSocket protocol with a real client.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestChat, text_of};
use common::both_backends;

both_backends!(
    seed_action_protocol,
    handshakes_refuse_bad_tokens_and_foreign_ids,
    first_frame_authentication,
    bad_frames_get_error_frames_and_the_socket_stays_open,
    every_socket_of_the_user_gets_the_reply,
    a_reconnecting_socket_resumes_without_gaps_or_duplicates,
    stop_keeps_the_streamed_text_and_aborts_upstream,
    regenerate_and_edit_make_branches,
    changes_made_elsewhere_are_pushed,
    untitled_conversations_get_a_title_after_the_first_reply,
    an_expired_token_is_refused_at_the_handshake,
    resubscribing_after_the_end_sends_nothing_twice,
);

async fn seed_action_protocol(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("alice").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={token}")).await;
    ws.send("start_conversation", json!({"title": "Over the socket"})).await;
    let started = ws.next().await;
    assert_eq!(started["type"], "conversation_started");
    let id = started["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(started["id"], id);
    assert_eq!(started["conversation"]["title"], "Over the socket");

    ws.send("send_message", json!({"conversation_id": id, "content": "[[reply=Hello from the model]]"}))
        .await;
    let frames = ws.until("generation_done").await;
    let kinds: Vec<_> =
        frames.iter().map(|f| f["type"].as_str().unwrap()).filter(|k| *k != "conversation_updated").collect();
    assert_eq!(kinds[0], "message_accepted", "the stored user message is acknowledged first");
    assert_eq!(kinds[1], "generation_started");
    assert!(kinds[2..kinds.len() - 1].iter().all(|k| *k == "delta"));
    assert_eq!(text_of(&frames, 1), "Hello from the model");
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete");
    assert_eq!(done["message"]["content"], "Hello from the model");
    assert_eq!(done["usage"]["completion_tokens"], 4);
    let accepted = frames.iter().find(|f| f["type"] == "message_accepted").unwrap();
    assert_eq!(accepted["message"]["content"], "[[reply=Hello from the model]]");

    ws.send("end_conversation", json!({"conversation_id": id})).await;
    let ended = ws.next().await;
    assert_eq!(ended["type"], "conversation_ended");
    assert_eq!(ended["conversation_id"], id);
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages.len(), 2);
}

async fn handshakes_refuse_bad_tokens_and_foreign_ids(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = app.conversation(&alice, "Alice's").await;
    let refused = |path: String| {
        let url = app.ws_url(&path);
        async move {
            match tokio_tungstenite::connect_async(url).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
                Err(e) => panic!("unexpected error {e}"),
                Ok(_) => panic!("{path} was accepted"),
            }
        }
    };
    assert_eq!(refused(format!("/ws/chat/alice?token={bob}")).await, 403, "another user's token");
    assert_eq!(refused("/ws/chat/alice?token=expired.or.garbage".into()).await, 401);
    assert_eq!(refused("/ws/chat/alice".into()).await, 401);
    assert_eq!(refused(format!("/ws/{id}?token={bob}")).await, 404, "a foreign conversation looks unknown");
    assert_eq!(refused(format!("/ws/{id}")).await, 401);
    let mut ws = app.ws(&format!("/ws/{id}?token={alice}")).await;
    assert_eq!(ws.next().await["type"], "subscribed", "the conversation's socket is watching it");
    ws.send("ping", json!(null)).await;
    assert_eq!(ws.next().await["type"], "pong");
}

async fn first_frame_authentication(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("carl").await;
    let mut ws = app.ws("/ws/chat").await;
    ws.send_raw(&json!({"action": "authenticate", "token": token}).to_string()).await;
    let authenticated = ws.next().await;
    assert_eq!(authenticated["type"], "authenticated");
    assert_eq!(authenticated["username"], "carl");
    ws.send("ping", json!({})).await;
    assert_eq!(ws.next().await["type"], "pong");

    let mut anonymous = app.ws("/ws/chat").await;
    anonymous.send("start_conversation", json!({"title": "sneaky"})).await;
    let closed = anonymous.next().await;
    assert_eq!(closed["type"], "__closed");
    assert_eq!(closed["code"], 1008);

    let mut bad = app.ws("/ws/chat").await;
    bad.send_raw(&json!({"action": "authenticate", "token": "forged"}).to_string()).await;
    assert_eq!(bad.next().await["code"], 1008);

    let mut silent = app.ws("/ws/chat").await;
    let closed = silent.next().await;
    assert_eq!(closed["code"], 1008, "nothing within a few seconds closes the socket");
    let (_, list) = app.get("/api/v1/conversations/", &token).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "anonymous frames created nothing");
}

async fn bad_frames_get_error_frames_and_the_socket_stays_open(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bobs = app.conversation(&bob, "Bob's").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    let cases = [
        ("not json at all".to_owned(), "invalid_json"),
        (json!({"action": "fly_to_the_moon", "data": {}}).to_string(), "invalid_frame"),
        (json!({"action": "send_message", "data": {"content": "no conversation"}}).to_string(), "invalid_frame"),
        (json!({"data": {}}).to_string(), "invalid_frame"),
        (json!({"action": "send_message", "data": {"conversation_id": bobs, "content": "hi"}}).to_string(), "not_found"),
        (json!({"action": "subscribe", "data": {"conversation_id": bobs}}).to_string(), "not_found"),
        (json!({"action": "stop", "data": {"generation_id": "nope"}}).to_string(), "not_found"),
        (json!({"action": "start_conversation", "data": {"title": "x".repeat(300)}}).to_string(), "invalid_input"),
        (json!({"action": "send_message", "data": {"conversation_id": "x", "content": "y".repeat(70_000)}}).to_string(), "too_large"),
    ];
    for (frame, code) in cases {
        ws.send_raw(&frame).await;
        let error = ws.next().await;
        assert_eq!(error["type"], "error", "{frame:.80}");
        assert_eq!(error["code"], code, "{frame:.80}");
        assert!(error["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    ws.send("ping", json!(null)).await;
    assert_eq!(ws.next().await["type"], "pong", "the socket is still open");
    let (_, messages) = app.get(&format!("/api/v1/conversations/{bobs}/messages"), &bob).await;
    assert_eq!(messages.as_array().unwrap().len(), 0, "nothing reached bob's conversation");
}

async fn every_socket_of_the_user_gets_the_reply(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("dana").await;
    let other = app.user("eve").await;
    let id = app.conversation(&token, "Shared").await;
    let mut tab1 = app.ws(&format!("/ws/{id}?token={token}")).await;
    let mut tab2 = app.ws(&format!("/ws/{id}?token={token}")).await;
    let mut stranger = app.ws(&format!("/ws/chat/eve?token={other}")).await;
    for ws in [&mut tab1, &mut tab2] {
        assert_eq!(ws.next().await["type"], "subscribed");
    }
    tab1.send("send_message", json!({"conversation_id": id, "content": "[[words=30]]"})).await;
    let one = tab1.until("generation_done").await;
    let two = tab2.until("generation_done").await;
    assert_eq!(text_of(&one, 1), text_of(&two, 1));
    assert_eq!(text_of(&one, 1).split_whitespace().count(), 30);
    stranger.send("ping", json!(null)).await;
    assert_eq!(stranger.next().await["type"], "pong", "another user's socket saw nothing of it");
}

async fn a_reconnecting_socket_resumes_without_gaps_or_duplicates(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("finn").await;
    let id = app.conversation(&token, "Resume").await;
    let mut first = app.ws(&format!("/ws/chat/finn?token={token}")).await;
    first.send("send_message", json!({"conversation_id": id, "content": "[[words=60]][[delay=15]]"})).await;
    let mut seen = Vec::new();
    while seen.iter().filter(|f: &&serde_json::Value| f["type"] == "delta").count() < 5 {
        seen.push(first.next().await);
    }
    let last_seq =
        seen.iter().filter(|f| f["type"] == "delta").map(|f| f["seq"].as_u64().unwrap()).max().unwrap();
    drop(first); // a reload, a network drop

    let mut second = app.ws(&format!("/ws/chat/finn?token={token}")).await;
    second.send("subscribe", json!({"conversation_id": id, "after_seq": last_seq})).await;
    let subscribed = second.next().await;
    assert_eq!(subscribed["type"], "subscribed");
    assert!(subscribed["generation"]["generation_id"].is_string());
    let rest = second.until("generation_done").await;
    let text = text_of(&seen, 1) + &text_of(&rest, last_seq + 1);
    let done = rest.last().unwrap();
    assert_eq!(done["status"], "complete");
    assert_eq!(text, done["message"]["content"].as_str().unwrap(), "no gap, no duplicate");
    assert_eq!(text.split_whitespace().count(), 60);
}

async fn stop_keeps_the_streamed_text_and_aborts_upstream(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("gina").await;
    let id = app.conversation(&token, "Stop").await;
    let mut ws = app.ws(&format!("/ws/chat/gina?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[words=1000]][[delay=20]]"})).await;
    let mut frames = ws.until("generation_started").await;
    let generation_id = frames.last().unwrap()["generation_id"].as_str().unwrap().to_owned();
    frames.extend(ws.until("delta").await);
    assert_eq!(app.fake.in_flight(), 1);
    ws.send("stop", json!({"generation_id": generation_id})).await;
    frames.extend(ws.until("generation_done").await);
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "cancelled");
    let streamed = text_of(&frames, 1);
    assert!(streamed.split_whitespace().count() < 1000);
    assert_eq!(done["message"]["content"], streamed.as_str(), "exactly the streamed text is kept");
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[1]["status"], "cancelled");
    assert_eq!(messages[1]["content"], streamed.as_str());
    for _ in 0..100 {
        if app.fake.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.fake.in_flight(), 0, "the upstream request was aborted");
}

async fn regenerate_and_edit_make_branches(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("hank").await;
    let id = app.conversation(&token, "Branches").await;
    let mut ws = app.ws(&format!("/ws/chat/hank?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "first question"})).await;
    let frames = ws.until("generation_done").await;
    let first_reply = frames.last().unwrap()["message"].clone();
    let question_id = first_reply["parent_id"].as_str().unwrap().to_owned();

    ws.send("regenerate", json!({"message_id": first_reply["id"]})).await;
    let frames = ws.until("generation_done").await;
    let second_reply = &frames.last().unwrap()["message"];
    assert_ne!(second_reply["id"], first_reply["id"]);
    assert_eq!(second_reply["parent_id"], question_id.as_str(), "a sibling of the first reply");
    assert_eq!(second_reply["content"], "Echo: first question");

    ws.send("edit_message", json!({"message_id": question_id, "content": "better question"})).await;
    let frames = ws.until("generation_done").await;
    let edited = frames.iter().find(|f| f["type"] == "message_accepted").unwrap();
    assert_eq!(edited["message"]["content"], "better question");
    assert_eq!(edited["message"]["parent_id"], serde_json::Value::Null, "a new branch from the same parent");
    assert_eq!(frames.last().unwrap()["message"]["content"], "Echo: better question");
    let (_, messages) = app.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
    assert_eq!(messages.as_array().unwrap().len(), 5, "every branch is kept");

    ws.send("regenerate", json!({"message_id": "unknown-id"})).await;
    assert_eq!(ws.next().await["code"], "not_found");
    ws.send("edit_message", json!({"message_id": first_reply["id"], "content": "x"})).await;
    assert_eq!(ws.next().await["code"], "invalid_input", "assistant messages cannot be edited");
}

async fn changes_made_elsewhere_are_pushed(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("ida").await;
    let id = app.conversation(&token, "Before").await;
    let mut ws = app.ws(&format!("/ws/chat/ida?token={token}")).await;
    ws.send("ping", json!(null)).await;
    assert_eq!(ws.next().await["type"], "pong");
    let (status, _) =
        app.put(&format!("/api/v1/conversations/{id}"), &token, json!({"title": "After"})).await;
    assert_eq!(status, StatusCode::OK);
    let updated = ws.next().await;
    assert_eq!(updated["type"], "conversation_updated");
    assert_eq!(updated["conversation"]["title"], "After");
    let created = app.conversation(&token, "New one").await;
    let pushed = ws.next().await;
    assert_eq!(pushed["conversation"]["id"], created);
    assert_eq!(app.delete(&format!("/api/v1/conversations/{id}"), &token).await, StatusCode::NO_CONTENT);
    let deleted = ws.next().await;
    assert_eq!(deleted["type"], "conversation_deleted");
    assert_eq!(deleted["conversation_id"], id);
}

async fn untitled_conversations_get_a_title_after_the_first_reply(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("jill").await;
    let mut ws = app.ws(&format!("/ws/chat/jill?token={token}")).await;
    ws.send("start_conversation", json!({})).await;
    let started = ws.next().await;
    assert_eq!(started["conversation"]["title"], "New conversation");
    let id = started["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(ws.next().await["type"], "conversation_updated", "other tabs learn of the new conversation");
    ws.send("send_message", json!({"conversation_id": id, "content": "Paris travel tips"})).await;
    let frames = ws.until("generation_done").await;
    // The reply is done before (and regardless of) the title.
    assert!(frames.iter().all(|f| f["type"] != "conversation_updated"));
    let updated = ws.until("conversation_updated").await.pop().unwrap();
    // The fake provider echoes the last user message of the title request.
    assert_eq!(updated["conversation"]["title"], "Echo: Title for the conversation above:");
    let (_, conversation) = app.get(&format!("/api/v1/conversations/{id}"), &token).await;
    assert_eq!(conversation["title"], updated["conversation"]["title"]);
    let title_request = app.fake.requests().pop().unwrap();
    assert_eq!(title_request["max_tokens"], 24);
}

/// A token signed with the auth server's real key but expired an hour ago.
async fn an_expired_token_is_refused_at_the_handshake(backend: Backend) {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let app = TestChat::spawn(backend).await;
    let token = app.user("kim").await;
    let id = app.conversation(&token, "Expiry").await;
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let now = common::clock::now();
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let auth_db =
        auth::store::Db::connect(&app.config.auth.database_url(&app.config.data_dir)).await.unwrap();
    let key = auth_db.signing_keys(0).await.unwrap().into_iter().find(|k| k.retired_at.is_none()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid.clone());
    let signing = jsonwebtoken::EncodingKey::from_ed_der(&STANDARD.decode(&key.private_key).unwrap());
    let expired = jsonwebtoken::encode(&header, &claims, &signing).unwrap();
    // Control: the same claims with a live expiry are accepted.
    claims["exp"] = json!(now + 600);
    let live = jsonwebtoken::encode(&header, &claims, &signing).unwrap();
    assert_eq!(app.get("/api/v1/conversations/", &live).await.0, StatusCode::OK);
    for path in [format!("/ws/{id}?token={expired}"), format!("/ws/chat/kim?token={expired}")] {
        match tokio_tungstenite::connect_async(app.ws_url(&path)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 401)
            }
            other => panic!("an expired token was not refused: {:?}", other.map(|_| ())),
        }
    }
    let mut ws = app.ws("/ws/chat").await;
    ws.send_raw(&json!({"action": "authenticate", "token": expired}).to_string()).await;
    assert_eq!(ws.next().await["code"], 1008);
}

async fn resubscribing_after_the_end_sends_nothing_twice(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("lena").await;
    let id = app.conversation(&token, "Once").await;
    let mut ws = app.ws(&format!("/ws/chat/lena?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[words=5]]"})).await;
    let frames = ws.until("generation_done").await;
    let generation_id = frames.last().unwrap()["generation_id"].clone();
    ws.send("subscribe", json!({"conversation_id": id})).await;
    let subscribed = ws.next().await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["generation"]["generation_id"], generation_id);
    assert_eq!(subscribed["generation"]["seq"], 5);
    ws.send("ping", json!(null)).await;
    assert_eq!(ws.next().await["type"], "pong", "no delta or done was sent a second time");
    // A new socket asking for what it lacks gets exactly that.
    let mut other = app.ws(&format!("/ws/chat/lena?token={token}")).await;
    other
        .send("subscribe", json!({"conversation_id": id, "generation_id": generation_id, "after_seq": 3}))
        .await;
    let rest = other.until("generation_done").await;
    assert_eq!(text_of(&rest, 4), "w4 w5 ");
}
