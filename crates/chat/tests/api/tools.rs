//! Tools: the tool loop inside a reply — against the example time server (`mcp-time`) and a
//! misbehaving one (`mcp_server`), both real MCP servers on loopback ports (registration and
//! "test connection": `tool_servers`). Every connection a test makes is to 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat};
use crate::mcp_server::{self, Seen};
use common::both_backends;

both_backends!(
    a_reply_calls_a_tool_and_answers_with_its_result,
    parallel_calls_and_rounds_up_to_the_cap,
    a_failing_tool_ends_its_call_not_the_reply,
    stop_during_a_call_cancels_it,
    a_removed_or_switched_off_server_is_no_longer_offered,
    tools_switched_off_by_the_administrator_are_never_reached,
    a_conversation_chooses_which_servers_its_replies_use,
    a_server_that_fails_is_left_out_for_a_while,
);

pub(crate) struct Tools {
    pub app: TestChat,
    pub time_url: String,
    pub odd_url: String,
    pub odd: Arc<Seen>,
}

/// The chat service with the time server and the misbehaving one on loopback ports, both
/// allowed by the administrator (they are internal addresses).
pub(crate) async fn start(backend: Backend, adjust: impl FnOnce(&mut common::config::Config)) -> Tools {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let time_port = listener.local_addr().unwrap().port();
    tokio::spawn(mcp_time::serve(listener));
    let (odd_url, odd) = mcp_server::start().await;
    let odd_host = odd_url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.tools.allowed_hosts = vec![format!("127.0.0.1:{time_port}"), odd_host];
        adjust(config);
    })
    .await;
    Tools { app, time_url: format!("http://127.0.0.1:{time_port}/mcp"), odd_url, odd }
}

pub(crate) async fn register(app: &TestChat, token: &str, body: Value) -> String {
    let (status, server) = app.post("/api/v1/mcp-servers/", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    server["id"].as_str().unwrap().to_owned()
}

/// Sends `content` in a new conversation and returns every frame up to `generation_done`.
pub(crate) async fn reply(app: &TestChat, token: &str, user: &str, content: &str) -> Vec<Value> {
    let id = app.conversation(token, "Tools").await;
    let mut ws = app.ws(&format!("/ws/chat/{user}?token={token}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": content})).await;
    ws.until("generation_done").await
}

/// The generation's numbered frames (deltas and tool calls), checked to count 1, 2, 3, …
pub(crate) fn numbered(frames: &[Value]) -> Vec<&Value> {
    let kinds = ["delta", "tool_call_started", "tool_call_updated", "tool_call_done"];
    let numbered: Vec<&Value> =
        frames.iter().filter(|f| kinds.contains(&f["type"].as_str().unwrap())).collect();
    for (i, frame) in numbered.iter().enumerate() {
        assert_eq!(frame["seq"].as_u64(), Some(i as u64 + 1), "gap or repeat in {frames:?}");
    }
    numbered
}

/// What went to the model for replies (not the requests that name conversations).
pub(crate) fn reply_requests(app: &TestChat) -> Vec<Value> {
    app.fake.requests().into_iter().filter(|r| r["messages"][0]["role"] != "system").collect()
}

pub(crate) fn of_type<'a>(frames: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| f["type"] == kind).collect()
}

pub(crate) fn text(frames: &[Value]) -> String {
    of_type(frames, "delta").iter().map(|f| f["text"].as_str().unwrap()).collect()
}

async fn a_reply_calls_a_tool_and_answers_with_its_result(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let ask = r#"What time is it in Tokyo? [[call=get_current_time {"timezone": "Asia/Tokyo"}]]"#;
    let frames = reply(app, &alice, "alice", ask).await;
    let events = numbered(&frames);
    assert_eq!(events[0]["type"], "tool_call_started", "{frames:?}");
    let call = &events[0]["call"];
    assert_eq!(call["name"], "get_current_time");
    assert_eq!(call["server"], "Clock");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap()["timezone"],
        "Asia/Tokyo"
    );
    assert_eq!(call["result"], Value::Null);
    let done = &events[1];
    assert_eq!(done["type"], "tool_call_done");
    let result = done["call"]["result"].as_str().unwrap();
    assert!(result.contains("+09:00[Asia/Tokyo]"), "{result}");
    assert!(done["call"]["duration_ms"].as_u64().is_some());
    assert_eq!(done["call"]["error"], Value::Null);
    // The model read the result and answered with it.
    assert_eq!(text(&frames), format!("Tool results: {result}"));
    let end = frames.last().unwrap();
    assert_eq!(end["status"], "complete");
    assert_eq!(end["message"]["tool_calls"][0]["result"], result);

    // What went to the model: the tool, then its call and result.
    let requests = reply_requests(app);
    let first = &requests[requests.len() - 2];
    assert_eq!(first["tools"][0]["function"]["name"], "get_current_time");
    let second = &requests[requests.len() - 1];
    let tool_message = second["messages"].as_array().unwrap().iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(tool_message["content"], result);

    // Stored with the reply: a reload shows the call.
    let conversation = end["conversation_id"].as_str().unwrap();
    let messages = app.settled_messages(&alice, conversation).await;
    let stored = messages.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(stored["tool_calls"][0]["result"], result);
    assert_eq!(stored["tool_calls"][0]["offset"], 0);
    let question = messages.iter().find(|m| m["role"] == "user").unwrap();
    assert!(question.get("tool_calls").is_none(), "left out when none: {question}");

    // A socket that resumes from the start replays the calls in order with the deltas.
    let generation = end["generation_id"].as_str().unwrap();
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send(
        "subscribe",
        json!({"conversation_id": conversation, "generation_id": generation, "after_seq": 0}),
    )
    .await;
    let replayed = ws.until("generation_done").await;
    let again = numbered(&replayed);
    assert_eq!(again.len(), events.len());
    assert_eq!(again[1]["call"]["result"], result);
    // And from the middle (another socket: one gets each event once): only what follows.
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send(
        "subscribe",
        json!({"conversation_id": conversation, "generation_id": generation, "after_seq": 1}),
    )
    .await;
    let rest = ws.until("generation_done").await;
    let first_again = rest.iter().find(|f| f["seq"].is_u64()).unwrap();
    assert_eq!(first_again["seq"], 2);
    assert_eq!(first_again["type"], "tool_call_done");
}

async fn parallel_calls_and_rounds_up_to_the_cap(backend: Backend) {
    let t = start(backend, |config| config.chat.tools.max_rounds = 2).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let ask = r#"Tokyo and Paris? [[call=get_current_time {"timezone": "Asia/Tokyo"}]] [[call=get_current_time {"timezone": "Europe/Paris"}]] [[rounds=9]]"#;
    let frames = reply(app, &alice, "alice", ask).await;
    numbered(&frames);
    let started = of_type(&frames, "tool_call_started");
    let done = of_type(&frames, "tool_call_done");
    assert_eq!((started.len(), done.len()), (4, 4), "two rounds of two parallel calls: {frames:?}");
    // In each round both calls start before either ends.
    assert!(frames.iter().position(|f| f == started[1]) < frames.iter().position(|f| f == done[0]));
    let results: Vec<&str> = done.iter().map(|f| f["call"]["result"].as_str().unwrap()).collect();
    assert!(results.iter().filter(|r| r.contains("Asia/Tokyo")).count() == 2, "{results:?}");
    assert!(results.iter().filter(|r| r.contains("Europe/Paris")).count() == 2, "{results:?}");
    let end = frames.last().unwrap();
    assert_eq!(end["status"], "complete");
    assert!(
        text(&frames).starts_with("Tool results: "),
        "the model answers after the cap: {}",
        text(&frames)
    );
    // Three requests: two rounds of calls, then the last with calls forbidden.
    let requests = reply_requests(app);
    let last = requests.last().unwrap();
    assert_eq!(last["tool_choice"], "none");
    assert!(requests[requests.len() - 2].get("tool_choice").is_none());
    assert_eq!(end["message"]["tool_calls"].as_array().unwrap().len(), 4);
}

async fn a_failing_tool_ends_its_call_not_the_reply(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let body = json!({"name": "Odd", "server_url": t.odd_url, "config": {"timeout_seconds": 1}});
    register(app, &alice, body).await;
    let cases = [
        (r#"[[call=get_current_time {"timezone": "Atlantis/Capital"}]]"#, "unknown timezone"),
        ("[[call=slow]]", "did not answer within 1 seconds"),
        ("[[call=huge]]", "the server's answer is larger than 1024 KiB"),
        ("[[call=garbage]]", "the server's answer is not valid MCP (JSON-RPC)"),
        (r#"[[call=get_current_time "not an object"]]"#, "not a JSON object"),
        ("[[call=no_such_tool]]", "there is no tool named"),
    ];
    for (ask, expected) in cases {
        let frames = reply(app, &alice, "alice", ask).await;
        numbered(&frames);
        let done = of_type(&frames, "tool_call_done");
        assert_eq!(done.len(), 1, "{ask}: {frames:?}");
        let error = done[0]["call"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{ask}: {error}");
        assert_eq!(done[0]["call"]["result"], Value::Null);
        let end = frames.last().unwrap();
        assert_eq!(end["status"], "complete", "{ask}: the model is told and answers: {end}");
        assert!(text(&frames).contains(expected), "{ask}: the model read the error: {}", text(&frames));
    }
    // A long result is cut for the model, with a note.
    let frames = reply(app, &alice, "alice", "[[call=big]]").await;
    let result = of_type(&frames, "tool_call_done")[0]["call"]["result"].as_str().unwrap().to_owned();
    assert!(result.len() < 33 * 1024 && result.ends_with("[the result was cut here: 102400 bytes in all]"));
}

async fn stop_during_a_call_cancels_it(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    register(app, &alice, json!({"name": "Odd", "server_url": t.odd_url})).await;
    let id = app.conversation(&alice, "Stop").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[call=slow]]"})).await;
    let started = ws.until("tool_call_started").await;
    let generation = started.last().unwrap()["generation_id"].as_str().unwrap().to_owned();
    // The call reached the server before the stop.
    for _ in 0..100 {
        if t.odd.calls.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A reload mid-call: another socket resumes from the start and sees the call running.
    let mut reloaded = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    let resume = json!({"conversation_id": id, "generation_id": generation, "after_seq": 0});
    reloaded.send("subscribe", resume).await;
    let seen = reloaded.until("tool_call_started").await;
    assert_eq!(seen.last().unwrap()["seq"], 1);
    assert_eq!(seen.last().unwrap()["call"]["name"], "slow");
    ws.send("stop", json!({"generation_id": generation})).await;
    let frames = ws.until("generation_done").await;
    // The resumed socket sees the same end.
    let resumed = reloaded.until("generation_done").await;
    assert_eq!(of_type(&resumed, "tool_call_done")[0]["seq"], 2);
    assert_eq!(resumed.last().unwrap()["status"], "cancelled");
    let done = of_type(&frames, "tool_call_done");
    assert_eq!(done[0]["call"]["error"], "stopped before it ended");
    let end = frames.last().unwrap();
    assert_eq!(end["status"], "cancelled");
    assert_eq!(end["message"]["tool_calls"][0]["error"], "stopped before it ended");
    // The server was told to stop working on it.
    for _ in 0..100 {
        if t.odd.cancelled.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(t.odd.cancelled.load(Ordering::SeqCst), 1, "notifications/cancelled sent");
}

async fn a_removed_or_switched_off_server_is_no_longer_offered(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let clock = register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let ask = r#"Time? [[call=get_current_time {"timezone": "UTC"}]]"#;
    let frames = reply(app, &alice, "alice", ask).await;
    assert_eq!(of_type(&frames, "tool_call_done").len(), 1);

    let (status, _) =
        app.put(&format!("/api/v1/mcp-servers/{clock}"), &alice, json!({"is_active": false})).await;
    assert_eq!(status, StatusCode::OK);
    let frames = reply(app, &alice, "alice", ask).await;
    assert!(of_type(&frames, "tool_call_started").is_empty(), "{frames:?}");
    assert!(reply_requests(app).last().unwrap().get("tools").is_none(), "no tools offered");
    assert_eq!(frames.last().unwrap()["status"], "complete");

    assert_eq!(app.delete(&format!("/api/v1/mcp-servers/{clock}"), &alice).await, StatusCode::NO_CONTENT);
    let frames = reply(app, &alice, "alice", ask).await;
    assert!(of_type(&frames, "tool_call_started").is_empty());
    assert_eq!(frames.last().unwrap()["status"], "complete");
}

async fn tools_switched_off_by_the_administrator_are_never_reached(backend: Backend) {
    let t = start(backend, |config| config.chat.tools.enabled = false).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let odd = register(app, &alice, json!({"name": "Odd", "server_url": t.odd_url})).await;
    let (status, error) = app.post(&format!("/api/v1/mcp-servers/{odd}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(error["detail"].as_str().unwrap().contains("switched off"), "{error}");
    let frames = reply(app, &alice, "alice", "[[call=big]]").await;
    assert!(of_type(&frames, "tool_call_started").is_empty(), "{frames:?}");
    assert_eq!(frames.last().unwrap()["status"], "complete");
    assert!(reply_requests(app).iter().all(|r| r.get("tools").is_none()), "no tools offered");
    assert_eq!(t.odd.requests.load(Ordering::SeqCst), 0, "never reached");
}

async fn a_conversation_chooses_which_servers_its_replies_use(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let odd = register(app, &alice, json!({"name": "Odd", "server_url": t.odd_url})).await;
    let bobs = register(app, &bob, json!({"name": "Bob's", "server_url": t.time_url})).await;
    let id = app.conversation(&alice, "Choice").await;
    let (_, conversation) = app.get(&format!("/api/v1/conversations/{id}"), &alice).await;
    assert!(conversation.get("mcp_servers").is_none(), "every server by default: {conversation}");
    let offered = |request: &Value| -> Vec<String> {
        request["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    let ask = |content: &str| json!({"conversation_id": id, "content": content});
    // Only the misbehaving server: the clock's tool is not offered.
    let only = json!({"mcp_servers": {"mode": "only", "servers": [odd]}});
    let (status, changed) = app.put(&format!("/api/v1/conversations/{id}"), &alice, only).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["mcp_servers"], json!({"mode": "only", "servers": [odd]}));
    ws.send("send_message", ask("Hello")).await;
    ws.until("generation_done").await;
    let names = offered(reply_requests(app).last().unwrap());
    assert_eq!(names, ["slow", "huge", "big", "garbage"]);
    // None at all.
    let none = json!({"mcp_servers": {"mode": "only", "servers": []}});
    assert_eq!(app.put(&format!("/api/v1/conversations/{id}"), &alice, none).await.0, StatusCode::OK);
    ws.send("send_message", ask("Again")).await;
    ws.until("generation_done").await;
    assert!(reply_requests(app).last().unwrap().get("tools").is_none());
    // Back to all.
    let all = json!({"mcp_servers": {"mode": "all"}});
    let (_, changed) = app.put(&format!("/api/v1/conversations/{id}"), &alice, all).await;
    assert!(changed.get("mcp_servers").is_none(), "{changed}");
    ws.send("send_message", ask("Once more")).await;
    ws.until("generation_done").await;
    assert_eq!(offered(reply_requests(app).last().unwrap()).len(), 7);
    // Someone else's server (or none at all) cannot be chosen.
    for servers in [json!([bobs]), json!(["nope"])] {
        let body = json!({"mcp_servers": {"mode": "only", "servers": servers}});
        let (status, error) = app.put(&format!("/api/v1/conversations/{id}"), &alice, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error.to_string().contains("mcp_servers"), "{error}");
    }
}

/// A server that is down costs one attempt, not one per reply: for 30 s its tools are left out
/// at once (a connection test still tries, and a change to the server tries again).
async fn a_server_that_fails_is_left_out_for_a_while(backend: Backend) {
    // Accepts connections and closes them at once, counting them.
    let broken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broken_host = broken.local_addr().unwrap().to_string();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = broken.accept().await {
            counting.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let t = start(backend, |config| config.chat.tools.allowed_hosts.push(broken_host.clone())).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let url = format!("http://{broken_host}/mcp");
    let down = register(app, &alice, json!({"name": "Down", "server_url": url})).await;
    let ask = r#"[[call=get_current_time {"timezone": "UTC"}]]"#;
    let frames = reply(app, &alice, "alice", ask).await;
    assert_eq!(of_type(&frames, "tool_call_done").len(), 1, "the working server is used");
    let tried = accepted.load(Ordering::SeqCst);
    assert!(tried >= 1, "the first reply tries the server that is down");
    for _ in 0..3 {
        let frames = reply(app, &alice, "alice", ask).await;
        assert_eq!(of_type(&frames, "tool_call_done").len(), 1);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), tried, "later replies do not try it again");
    let (status, _) = app.post(&format!("/api/v1/mcp-servers/{down}/test"), &alice, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let tested = accepted.load(Ordering::SeqCst);
    assert!(tested > tried, "a connection test tries at once");
    let (status, _) =
        app.put(&format!("/api/v1/mcp-servers/{down}"), &alice, json!({"description": "x"})).await;
    assert_eq!(status, StatusCode::OK);
    reply(app, &alice, "alice", ask).await;
    assert!(accepted.load(Ordering::SeqCst) > tested, "a changed server is tried again");
}
