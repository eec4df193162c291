//! Tools that ask before they run ("ask me before running this tool"), answered over the
//! WebSocket or HTTP as part of the durable reply; each tool's own timeout; a long call's
//! progress reports; the audit of every call, for administrators. Against the real MCP servers of `tools.rs`, on loopback ports.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::Backend;
use crate::tools::{numbered, of_type, register, reply, reply_requests, start, text};
use common::both_backends;

both_backends!(
    a_tool_that_asks_first_runs_only_once_approved,
    a_declined_call_tells_the_model_and_runs_nothing,
    a_reload_while_a_call_waits_shows_it_and_answers_it,
    ask_before_is_each_users_own_choice,
    each_tool_may_have_its_own_timeout,
    a_long_call_shows_its_progress,
    every_call_is_audited_for_administrators,
);

/// Sets which tools of `server` ask `token`'s user before they run; the server as they see it.
async fn ask_before(app: &crate::helpers::TestChat, token: &str, server: &str, tools: Value) -> Value {
    let path = format!("/api/v1/mcp-servers/{server}/ask-before");
    let (status, body) = app.put(&path, token, json!({ "tools": tools })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// How many calls the misbehaving server has had, after giving a wrongly run call time to land.
async fn calls_after_a_while(seen: &crate::mcp_server::Seen) -> usize {
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.calls.load(Ordering::SeqCst)
}

async fn a_tool_that_asks_first_runs_only_once_approved(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let odd = register(app, &alice, json!({"name": "Odd", "server_url": t.odd_url})).await;
    let server = ask_before(app, &alice, &odd, json!(["big", "big", "slow"])).await;
    assert_eq!(server["ask_before"], json!(["big", "slow"]), "each once, in order");
    let (_, listed) = app.get("/api/v1/mcp-servers/", &alice).await;
    assert_eq!(listed[0]["ask_before"], json!(["big", "slow"]));

    let id = app.conversation(&alice, "Ask").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[call=big]]"})).await;
    let started = ws.until("tool_call_started").await;
    let started = started.last().unwrap();
    let call = &started["call"];
    assert_eq!(call["approval"], "pending", "{started}");
    assert_eq!(call["duration_ms"], Value::Null);
    let generation = started["generation_id"].as_str().unwrap().to_owned();
    let call_id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(calls_after_a_while(&t.odd).await, 0, "nothing runs before the answer");

    // Only the owner answers, and only a call that waits.
    let path = format!("/api/v1/generations/{generation}/tool-calls/{call_id}/approval");
    let (status, error) = app.post(&path, &bob, json!({"approved": true})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let wrong = format!("/api/v1/generations/{generation}/tool-calls/9.nope/approval");
    let (status, error) = app.post(&wrong, &alice, json!({"approved": true})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["detail"], "No tool call of that reply waits for an answer");
    assert_eq!(t.odd.calls.load(Ordering::SeqCst), 0);

    let answer = json!({"generation_id": generation, "call_id": call_id, "approved": true});
    ws.send("answer_tool_call", answer.clone()).await;
    let frames = ws.until("generation_done").await;
    let updated = of_type(&frames, "tool_call_updated");
    assert_eq!(updated[0]["call"]["approval"], "approved", "{frames:?}");
    let done = of_type(&frames, "tool_call_done");
    assert_eq!(done[0]["call"]["approval"], "approved");
    assert!(done[0]["call"]["result"].as_str().unwrap().starts_with("yyyy"));
    assert_eq!(frames.last().unwrap()["status"], "complete");
    assert_eq!(t.odd.calls.load(Ordering::SeqCst), 1, "run once approved");
    // The seq numbers count on across the approval.
    let all: Vec<Value> = std::iter::once(started.clone()).chain(frames.iter().cloned()).collect();
    numbered(&all);

    // Answered once: a second answer finds nothing waiting.
    ws.send("answer_tool_call", answer).await;
    let error = ws.until("error").await;
    assert_eq!(error.last().unwrap()["code"], "not_found");
    let stored = app.settled_messages(&alice, &id).await;
    assert_eq!(stored.last().unwrap()["tool_calls"][0]["approval"], "approved");

    // Tools not on the list run without asking.
    let frames = reply(app, &alice, "alice", "[[call=garbage]]").await;
    let started = of_type(&frames, "tool_call_started");
    assert!(started[0]["call"].get("approval").is_none(), "{frames:?}");
    assert_eq!(frames.last().unwrap()["status"], "complete");
}

async fn a_declined_call_tells_the_model_and_runs_nothing(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let odd = register(app, &alice, json!({"name": "Odd", "server_url": t.odd_url})).await;
    ask_before(app, &alice, &odd, json!(["big"])).await;
    let id = app.conversation(&alice, "Decline").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": "[[call=big]]"})).await;
    let started = ws.until("tool_call_started").await;
    let started = started.last().unwrap();
    let generation = started["generation_id"].as_str().unwrap();
    let call_id = started["call"]["id"].as_str().unwrap();
    // Declined over HTTP (as a client that streams replies as server-sent events would).
    let path = format!("/api/v1/generations/{generation}/tool-calls/{call_id}/approval");
    let (status, body) = app.post(&path, &alice, json!({"approved": false})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let frames = ws.until("generation_done").await;
    let done = of_type(&frames, "tool_call_done");
    assert_eq!(done[0]["call"]["approval"], "declined");
    assert_eq!(done[0]["call"]["error"], "you chose not to run this tool");
    assert_eq!(done[0]["call"]["result"], Value::Null);
    assert!(of_type(&frames, "tool_call_updated").is_empty(), "{frames:?}");
    // The model is told, and answers.
    assert_eq!(text(&frames), "Tool results: The user declined to run this tool.");
    let requests = reply_requests(app);
    let tool_message = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .cloned();
    assert_eq!(tool_message.unwrap()["content"], "The user declined to run this tool.");
    assert_eq!(frames.last().unwrap()["status"], "complete");
    assert_eq!(calls_after_a_while(&t.odd).await, 0, "a declined call never reaches its server");
    // A malformed answer is refused with a sentence.
    let (status, error) = app.post(&path, &alice, json!({"approved": "yes"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    // An emptied list asks no more.
    let server = ask_before(app, &alice, &odd, json!([])).await;
    assert_eq!(server["ask_before"], json!([]));
    let frames = reply(app, &alice, "alice", "[[call=big]]").await;
    assert!(of_type(&frames, "tool_call_started")[0]["call"].get("approval").is_none());
    assert_eq!(t.odd.calls.load(Ordering::SeqCst), 1);
}

async fn a_reload_while_a_call_waits_shows_it_and_answers_it(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let clock = register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    ask_before(app, &alice, &clock, json!(["get_current_time"])).await;
    let id = app.conversation(&alice, "Reload").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    let ask = r#"Tokyo? [[call=get_current_time {"timezone": "Asia/Tokyo"}]]"#;
    ws.send("send_message", json!({"conversation_id": id, "content": ask})).await;
    let started = ws.until("tool_call_started").await;
    let generation = started.last().unwrap()["generation_id"].as_str().unwrap().to_owned();
    drop(ws);

    // A reloaded page resumes from the start: the call is there, still waiting; it answers.
    let mut reloaded = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    let resume = json!({"conversation_id": id, "generation_id": generation, "after_seq": 0});
    reloaded.send("subscribe", resume).await;
    let seen = reloaded.until("tool_call_started").await;
    let waiting = seen.last().unwrap();
    assert_eq!(waiting["call"]["approval"], "pending");
    let call_id = waiting["call"]["id"].as_str().unwrap();
    // Another tab watching the conversation sees the same answer land.
    let mut other = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    other
        .send("subscribe", json!({"conversation_id": id, "generation_id": generation, "after_seq": 1}))
        .await;
    reloaded
        .send("answer_tool_call", json!({"generation_id": generation, "call_id": call_id, "approved": true}))
        .await;
    let frames = reloaded.until("generation_done").await;
    let result = of_type(&frames, "tool_call_done")[0]["call"]["result"].as_str().unwrap().to_owned();
    assert!(result.contains("Asia/Tokyo"), "{result}");
    let seen_there = other.until("generation_done").await;
    assert_eq!(of_type(&seen_there, "tool_call_updated")[0]["seq"], 2, "{seen_there:?}");
    assert_eq!(of_type(&seen_there, "tool_call_done")[0]["call"]["result"], result);

    // Stopped while waiting: the call ends unrun, the reply cancelled.
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": ask})).await;
    let started = ws.until("tool_call_started").await;
    let generation = started.last().unwrap()["generation_id"].as_str().unwrap().to_owned();
    ws.send("stop", json!({"generation_id": generation})).await;
    let frames = ws.until("generation_done").await;
    assert_eq!(of_type(&frames, "tool_call_done")[0]["call"]["error"], "stopped before it ended");
    assert_eq!(frames.last().unwrap()["status"], "cancelled");
}

async fn ask_before_is_each_users_own_choice(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let admin = app.admin().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (status, shared) = app
        .post("/api/v1/admin/mcp-servers/", &admin, json!({"name": "Clock", "server_url": t.time_url}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{shared}");
    let shared = shared["id"].as_str().unwrap();
    // On a shared server each user keeps their own list.
    ask_before(app, &alice, shared, json!(["get_current_time"])).await;
    let (_, seen) = app.get(&format!("/api/v1/mcp-servers/{shared}"), &bob).await;
    assert_eq!(seen["ask_before"], json!([]), "{seen}");
    let ask = r#"[[call=get_current_time {"timezone": "UTC"}]]"#;
    let frames = reply(app, &bob, "bob", ask).await;
    assert!(of_type(&frames, "tool_call_started")[0]["call"].get("approval").is_none());

    // Someone else's server: not found; bad names: refused with a sentence.
    let bobs = register(app, &bob, json!({"name": "Odd", "server_url": t.odd_url})).await;
    let (status, _) =
        app.put(&format!("/api/v1/mcp-servers/{bobs}/ask-before"), &alice, json!({"tools": ["big"]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let too_many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    for tools in [json!(["no spaces"]), json!([""]), json!(["x".repeat(129)]), json!(too_many)] {
        let (status, error) =
            app.put(&format!("/api/v1/mcp-servers/{bobs}/ask-before"), &bob, json!({ "tools": tools })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error["detail"].as_str().is_some_and(|d| !d.is_empty()), "{error}");
    }
    let (_, seen) = app.get(&format!("/api/v1/mcp-servers/{bobs}"), &bob).await;
    assert_eq!(seen["ask_before"], json!([]), "nothing stored by a refused request");
    // A deleted server takes its lists with it.
    ask_before(app, &bob, &bobs, json!(["big"])).await;
    assert_eq!(app.delete(&format!("/api/v1/mcp-servers/{bobs}"), &bob).await, StatusCode::NO_CONTENT);
    let (_, listed) = app.get("/api/v1/mcp-servers/", &bob).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // A list set while its server is being deleted (after the request found it) is refused as
    // gone (404), not a database error, and leaves nothing behind.
    let stored = app.chat_state.db.set_ask_before(&bobs, "bob-id", &["big".into()]).await;
    assert!(matches!(stored, Ok(false)), "{:?}", stored.map_err(|e| e.to_string()));
    assert!(app.chat_state.db.ask_before("bob-id").await.unwrap().is_empty());
}

async fn each_tool_may_have_its_own_timeout(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    let config = json!({"timeout_seconds": 30, "tool_timeouts": {"wait": 1}});
    let clock =
        register(app, &alice, json!({"name": "Clock", "server_url": t.time_url, "config": config})).await;
    let frames = reply(app, &alice, "alice", r#"[[call=wait {"seconds": 3}]]"#).await;
    let done = of_type(&frames, "tool_call_done");
    assert_eq!(done[0]["call"]["error"], "the MCP server did not answer within 1 seconds", "{frames:?}");
    // Other tools keep the server's timeout.
    let frames = reply(app, &alice, "alice", r#"[[call=get_current_time {"timezone": "UTC"}]]"#).await;
    assert!(of_type(&frames, "tool_call_done")[0]["call"]["result"].is_string());

    // Bounds: 1 second to an hour, valid tool names.
    let cases = [
        json!({"tool_timeouts": {"wait": 0}}),
        json!({"tool_timeouts": {"wait": 3601}}),
        json!({"tool_timeouts": {"not a name": 5}}),
        json!({"timeout_seconds": 3601}),
    ];
    for config in cases {
        let (status, error) =
            app.put(&format!("/api/v1/mcp-servers/{clock}"), &alice, json!({ "config": config })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{config}: {error}");
        assert!(error.to_string().contains("config."), "{error}");
    }
    let long = json!({"config": {"timeout_seconds": 3600, "tool_timeouts": {"wait": 3600}}});
    let (status, server) = app.put(&format!("/api/v1/mcp-servers/{clock}"), &alice, long).await;
    assert_eq!(status, StatusCode::OK, "{server}");
    assert_eq!(server["config"]["tool_timeouts"]["wait"], 3600);
}

async fn a_long_call_shows_its_progress(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let alice = app.user("alice").await;
    register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    let frames = reply(app, &alice, "alice", r#"[[call=wait {"seconds": 2.5}]]"#).await;
    numbered(&frames);
    let updates = of_type(&frames, "tool_call_updated");
    assert!(!updates.is_empty(), "progress is shown: {frames:?}");
    // At most one report a second reaches the reply.
    assert!(updates.len() <= 3, "{updates:?}");
    for update in &updates {
        let progress = &update["call"]["progress"];
        assert_eq!(progress["total"], 10.0, "{update}");
        let done = progress["progress"].as_f64().unwrap();
        assert!((1.0..=10.0).contains(&done), "{update}");
        assert_eq!(progress["message"], format!("{done} of 10 steps"));
        assert_eq!(update["call"]["duration_ms"], Value::Null);
    }
    let done = of_type(&frames, "tool_call_done");
    assert_eq!(done[0]["call"]["result"], "waited 2.5 seconds");
    assert_eq!(frames.last().unwrap()["status"], "complete");
}

async fn every_call_is_audited_for_administrators(backend: Backend) {
    let t = start(backend, |_| {}).await;
    let app = &t.app;
    let admin = app.admin().await;
    let alice = app.user("alice").await;
    let clock = register(app, &alice, json!({"name": "Clock", "server_url": t.time_url})).await;
    ask_before(app, &alice, &clock, json!(["wait"])).await;
    reply(app, &alice, "alice", r#"[[call=get_current_time {"timezone": "Asia/Tokyo"}]]"#).await;
    reply(app, &alice, "alice", r#"[[call=get_current_time {"timezone": "Mars/Olympus"}]]"#).await;
    let id = app.conversation(&alice, "Declined").await;
    let mut ws = app.ws(&format!("/ws/chat/alice?token={alice}")).await;
    ws.send("send_message", json!({"conversation_id": id, "content": r#"[[call=wait {"seconds": 1}]]"#}))
        .await;
    let started = ws.until("tool_call_started").await;
    let started = started.last().unwrap();
    let answer = json!({"generation_id": started["generation_id"], "call_id": started["call"]["id"], "approved": false});
    ws.send("answer_tool_call", answer).await;
    ws.until("generation_done").await;

    // Written beside the replies: wait for all three.
    let mut audit = Value::Null;
    for _ in 0..100 {
        audit = app.get("/api/v1/admin/tool-calls", &admin).await.1;
        // The page and its total are two reads: a row written between them shows in one only.
        if audit["total"] == 3 && audit["calls"].as_array().is_some_and(|c| c.len() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(audit["total"], 3, "{audit}");
    let calls = audit["calls"].as_array().unwrap();
    let outcomes: Vec<&str> = calls.iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["declined", "error", "ok"], "newest first: {audit}");
    let ok = &calls[2];
    assert_eq!(ok["username"], "alice");
    assert_eq!(ok["server"], "Clock");
    assert_eq!(ok["tool"], "get_current_time");
    assert!(ok["bytes"].as_u64().unwrap() > 10, "{ok}");
    assert!(ok["at"].as_str().unwrap().ends_with('Z'), "{ok}");
    assert_eq!(calls[0]["tool"], "wait");
    assert_eq!(calls[0]["bytes"], 0);

    // Filters, paging, and only for administrators.
    let (_, declined) = app.get("/api/v1/admin/tool-calls?outcome=declined", &admin).await;
    assert_eq!(declined["total"], 1);
    let (_, page) = app.get("/api/v1/admin/tool-calls?username=alice&limit=1&offset=1", &admin).await;
    assert_eq!((page["total"].as_i64(), page["calls"][0]["outcome"].as_str()), (Some(3), Some("error")));
    let (_, nobody) = app.get("/api/v1/admin/tool-calls?username=bob", &admin).await;
    assert_eq!(nobody["total"], 0);
    let (status, error) = app.get("/api/v1/admin/tool-calls", &alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    for query in ["limit=0", "limit=501", "offset=-1"] {
        let (status, error) = app.get(&format!("/api/v1/admin/tool-calls?{query}"), &admin).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
    }
}
