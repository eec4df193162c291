//! Cluster mode with real processes: one `openchat auth`, several `openchat chat` replicas on
//! one PostgreSQL database and one Redis. What one replica produces reaches sockets on the
//! others gap-free, resumes anywhere, stops from anywhere, ends `interrupted` when its replica
//! dies, survives Redis going away, and the per-user limits hold across replicas.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::testing::{TestBackend, fresh_database, temp_dir};
use serde_json::{Value, json};

use support::{Server, Setup, Ws, free_port, text_of};

struct Cluster {
    fake: fake_llm::FakeLlm,
    _auth: Server,
    replicas: Vec<Server>,
    setup: Setup,
}

/// `replicas` chat processes and one auth server on fresh PostgreSQL databases, sharing the
/// Redis at `redis_url`.
async fn cluster(replicas: usize, redis_url: &str, extra: &[(&str, &str)]) -> Cluster {
    let fake = fake_llm::FakeLlm::start().await;
    let dir = temp_dir("openchat-cluster");
    let mut setup = Setup::new(&dir);
    setup.set("OPENAI_BASE_URL", fake.openai_base());
    setup.set("OPENAI_API_KEY", "test-key");
    setup.set("OPENCHAT_LOCAL_MODEL", "off");
    setup.set("OPENCHAT_REDIS_URL", redis_url);
    setup.set("OPENCHAT_AUTH_DATABASE_URL", fresh_database(TestBackend::Postgres, &dir, "auth.db").await);
    setup.set("OPENCHAT_CHAT_DATABASE_URL", fresh_database(TestBackend::Postgres, &dir, "chat.db").await);
    for (name, value) in extra {
        setup.set(name, *value);
    }
    let auth = setup.start_auth().await;
    let mut started = Vec::new();
    for _ in 0..replicas {
        let replica = setup.start_chat().await;
        wait_for_cluster(&replica, "ok").await;
        started.push(replica);
    }
    Cluster { fake, _auth: auth, replicas: started, setup }
}

/// Waits until a replica's `/health` says `"cluster": state`.
async fn wait_for_cluster(replica: &Server, state: &str) {
    for _ in 0..200 {
        if replica.health().await["cluster"] == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica's cluster state never became {state}: {}", replica.health().await);
}

/// A socket on `replica` that watches `conversation`, past its `subscribed` frame.
async fn watch(replica: &Server, token: &str, conversation: &str) -> Ws {
    let mut ws = replica.ws(&format!("/ws/{conversation}?token={token}")).await;
    let subscribed = ws.next().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    ws
}

/// Posts a message through `replica` and returns the new reply's generation id.
async fn post(replica: &Server, token: &str, conversation: &str, content: &str) -> String {
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let (status, posted) = replica.post(&path, token, json!({ "content": content })).await;
    assert_eq!(status, 201, "{posted}");
    posted["generation_id"].as_str().expect("a reply started").to_owned()
}

/// Frames of one generation up to and including its `generation_done`.
async fn frames_of(ws: &mut Ws, generation: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = ws.next().await;
        if frame["generation_id"] != generation {
            continue;
        }
        let done = frame["type"] == "generation_done";
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

#[tokio::test]
async fn a_reply_reaches_resumes_and_stops_on_any_replica() {
    let c = cluster(3, "redis://127.0.0.1:6379", &[]).await;
    let [a, b, replica_c] = &c.replicas[..] else { unreachable!() };
    let token = a.user("ada").await;
    let conversation = a.conversation(&token, "Cluster").await;

    // A socket on B sees every delta of a reply produced on A, in order, once.
    let mut on_b = watch(b, &token, &conversation).await;
    let generation = post(a, &token, &conversation, "[[words=60]][[delay=5]]").await;
    let frames = frames_of(&mut on_b, &generation).await;
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete", "{done}");
    let stored = c.replicas[2].settled_messages(&token, &conversation).await;
    let reply = stored.last().unwrap()["content"].as_str().unwrap().to_owned();
    assert_eq!(text_of(&frames), reply);
    assert!(reply.starts_with("w1 w2 ") && reply.trim_end().ends_with(" w60"), "{reply}");

    // Dropped mid-reply on A, resumed on C by `after_seq`: the rest, gap-free.
    let mut on_a = watch(a, &token, &conversation).await;
    let generation = post(b, &token, &conversation, "[[words=200]][[delay=10]]").await;
    let mut first = Vec::new();
    while first.iter().filter(|f: &&Value| f["type"] == "delta").count() < 20 {
        let frame = on_a.next().await;
        if frame["generation_id"] == generation {
            first.push(frame);
        }
    }
    drop(on_a);
    let after_seq = first.iter().filter(|f| f["type"] == "delta").count();
    let mut on_c = replica_c.ws(&format!("/ws/chat/ada?token={token}")).await;
    let resume =
        json!({"conversation_id": conversation, "after_seq": after_seq, "generation_id": generation});
    on_c.send("subscribe", resume).await;
    let rest = frames_of(&mut on_c, &generation).await;
    let nothing_again =
        rest.iter().all(|f| f["type"] != "delta" || f["seq"].as_u64().unwrap() > after_seq as u64);
    assert!(nothing_again, "nothing already seen is sent again: {rest:?}");
    let mut whole = first.clone();
    whole.extend(rest.iter().cloned());
    let stored = replica_c.settled_messages(&token, &conversation).await;
    assert_eq!(text_of(&whole), stored.last().unwrap()["content"].as_str().unwrap());

    // A stop sent to B stops the reply running on A, and its upstream request, at once.
    let generation = post(a, &token, &conversation, "[[words=5000]][[delay=10]]").await;
    loop {
        let frame = on_b.next().await;
        if frame["generation_id"] == generation && frame["type"] == "delta" {
            break;
        }
    }
    on_b.send("stop", json!({ "generation_id": generation })).await;
    let frames = frames_of(&mut on_b, &generation).await;
    assert_eq!(frames.last().unwrap()["status"], "cancelled");
    for _ in 0..100 {
        if c.fake.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.fake.in_flight(), 0, "the upstream request was aborted");
    let stored = b.settled_messages(&token, &conversation).await;
    assert_eq!(stored.last().unwrap()["status"], "cancelled");
    // A stop of a generation nobody runs is still an error, on any replica.
    on_b.send("stop", json!({ "generation_id": "nonexistent0000" })).await;
    let error = on_b.until("error").await;
    assert_eq!(error.last().unwrap()["code"], "not_found");
}

#[tokio::test]
async fn a_tool_call_waiting_on_one_replica_is_answered_from_another() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tools = listener.local_addr().unwrap();
    tokio::spawn(mcp_time::serve(listener));
    let allowed = tools.to_string();
    let c = cluster(2, "redis://127.0.0.1:6379", &[("OPENCHAT_TOOLS_ALLOWED_HOSTS", &allowed)]).await;
    let [a, b] = &c.replicas[..] else { unreachable!() };
    let token = a.user("tia").await;
    let server = json!({"name": "Clock", "server_url": format!("http://{tools}/mcp")});
    let (status, server) = a.post("/api/v1/mcp-servers/", &token, server).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_str().unwrap();
    let ask = json!({"tools": ["get_current_time"]});
    let (status, _) = b.put(&format!("/api/v1/mcp-servers/{id}/ask-before"), &token, ask).await;
    assert_eq!(status, 200);
    let conversation = a.conversation(&token, "Approval").await;
    let mut on_b = watch(b, &token, &conversation).await;
    let ask = r#"Tokyo? [[call=get_current_time {"timezone": "Asia/Tokyo"}]]"#;
    let generation = post(a, &token, &conversation, ask).await;
    let call = loop {
        let frame = on_b.next().await;
        if frame["generation_id"] == generation && frame["type"] == "tool_call_started" {
            break frame["call"].clone();
        }
    };
    assert_eq!(call["approval"], "pending", "{call}");
    // Answered on B, run on A.
    let answer = json!({"generation_id": generation, "call_id": call["id"], "approved": true});
    on_b.send("answer_tool_call", answer.clone()).await;
    let frames = frames_of(&mut on_b, &generation).await;
    let done = frames.iter().find(|f| f["type"] == "tool_call_done");
    let done = done.unwrap_or_else(|| panic!("the call ran: {frames:?}"));
    assert_eq!(done["call"]["approval"], "approved");
    assert!(done["call"]["result"].as_str().unwrap().contains("Asia/Tokyo"), "{done}");
    assert_eq!(frames.last().unwrap()["status"], "complete");
    // Nothing waits any more: an answer now is an error, on either replica.
    on_b.send("answer_tool_call", answer).await;
    let error = on_b.until("error").await;
    assert_eq!(error.last().unwrap()["code"], "not_found");
}

#[tokio::test]
async fn replies_of_one_conversation_take_turns_across_replicas() {
    let c = cluster(2, "redis://127.0.0.1:6379", &[]).await;
    let [a, b] = &c.replicas[..] else { unreachable!() };
    let token = a.user("hal").await;
    let conversation = a.conversation(&token, "Turns").await;
    let mut on_a = watch(a, &token, &conversation).await;
    let first = post(a, &token, &conversation, "[[words=100]][[delay=5]]").await;
    let second = post(b, &token, &conversation, "[[words=20]]").await;
    let mut frames = Vec::new();
    let mut done = 0;
    while done < 2 {
        let frame = on_a.next().await;
        if frame["generation_id"] == first || frame["generation_id"] == second {
            done += usize::from(frame["type"] == "generation_done");
            frames.push(frame);
        }
    }
    let at = |generation: &str, kind: &str| {
        frames.iter().position(|f| f["generation_id"] == generation && f["type"] == kind)
    };
    assert!(at(&second, "generation_queued").is_some(), "the later reply says it waits: {frames:?}");
    let first_done = at(&first, "generation_done").unwrap();
    assert!(
        at(&second, "delta").unwrap() > first_done,
        "the later reply streams after the first: {frames:?}"
    );
    for generation in [&first, &second] {
        let done = &frames[at(generation, "generation_done").unwrap()];
        assert_eq!(done["status"], "complete", "{done}");
    }
}

#[tokio::test]
async fn a_killed_replica_leaves_its_reply_interrupted_for_watchers_elsewhere() {
    // SIGKILL: no chance to say anything. The lease (15 s) runs out and B's sweeper ends the
    // reply for every watcher.
    a_replica_goes_away_mid_reply("finn", Signal::Kill).await;
}

#[tokio::test]
async fn a_replica_stopped_for_an_upgrade_ends_its_reply_for_watchers_elsewhere() {
    // SIGTERM, as a rolling upgrade sends: the replica stores the reply as interrupted and
    // tells the others before it exits (no lease has to run out: it is renewed every 0.5 s
    // while text streams, and lasts 15 s).
    a_replica_goes_away_mid_reply("gus", Signal::Term).await;
}

enum Signal {
    Kill,
    Term,
}

/// Replica A dies (or stops) in the middle of a reply watched from B: B's socket gets
/// `interrupted`, and the stored reply holds everything that was streamed.
async fn a_replica_goes_away_mid_reply(user: &str, signal: Signal) {
    let mut c = cluster(2, "redis://127.0.0.1:6379", &[]).await;
    let token = c.replicas[0].user(user).await;
    let conversation = c.replicas[0].conversation(&token, "Going away").await;
    let mut on_b = watch(&c.replicas[1], &token, &conversation).await;
    let generation = post(&c.replicas[0], &token, &conversation, "[[words=3000]][[delay=10]]").await;
    let streamed_before = if let Signal::Kill = signal { 120 } else { 60 };
    let mut frames = deltas_of(&mut on_b, &generation, streamed_before).await;
    let mut a = c.replicas.remove(0);
    let wait = match signal {
        Signal::Kill => {
            a.child.kill().unwrap();
            Duration::from_secs(30)
        }
        Signal::Term => {
            let pid = a.child.id().to_string();
            assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
            Duration::from_secs(12)
        }
    };
    let ended = tokio::time::timeout(wait, frames_of(&mut on_b, &generation)).await;
    frames.extend(ended.expect("the watcher elsewhere learns that the reply ended"));
    a.child.wait().unwrap();
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "interrupted", "{done}");
    let streamed = text_of(&frames);
    assert!(streamed.len() >= "w1 w2".len() * streamed_before / 2, "{streamed:.60}");
    assert_eq!(done["message"]["content"], streamed, "the done event holds what was streamed");
    let b = &c.replicas[0];
    let stored = b.get(&format!("/api/v1/conversations/{conversation}/messages"), &token).await;
    let reply = stored.as_array().unwrap().last().unwrap().clone();
    assert_eq!(reply["status"], "interrupted");
    assert_eq!(reply["content"], streamed, "nothing the watchers saw is lost");
}

/// Frames of `generation` on a socket until `count` of its deltas have come.
async fn deltas_of(ws: &mut Ws, generation: &str, count: usize) -> Vec<Value> {
    let mut frames = Vec::new();
    while frames.iter().filter(|f: &&Value| f["type"] == "delta").count() < count {
        let frame = ws.next().await;
        if frame["generation_id"] == generation {
            frames.push(frame);
        }
    }
    frames
}

/// A Redis of the test's own on a spare port, which it can stop and start again.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child: Some(child) }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn replies_go_on_while_redis_is_away_and_watchers_catch_up_when_it_is_back() {
    let mut redis = OwnRedis::start(free_port());
    let c = cluster(2, &redis.url(), &[]).await;
    let [a, b] = &c.replicas[..] else { unreachable!() };
    let token = a.user("grace").await;
    let conversation = a.conversation(&token, "Blip").await;
    let mut on_b = watch(b, &token, &conversation).await;
    let mut on_a = watch(a, &token, &conversation).await;
    let generation = post(a, &token, &conversation, "[[words=800]][[delay=15]]").await;
    let mut frames = deltas_of(&mut on_b, &generation, 30).await;
    redis.kill();
    wait_for_cluster(a, "degraded").await;
    wait_for_cluster(b, "degraded").await;
    // The owner's own sockets go on meanwhile.
    let before = on_a_deltas(&mut on_a, &generation, 20).await;
    assert!(before > 0);
    let mut redis = OwnRedis::start(redis.port);
    wait_for_cluster(a, "ok").await;
    wait_for_cluster(b, "ok").await;
    frames.extend(frames_of(&mut on_b, &generation).await);
    assert_eq!(frames.last().unwrap()["status"], "complete");
    let stored = b.settled_messages(&token, &conversation).await;
    assert_eq!(text_of(&frames), stored.last().unwrap()["content"].as_str().unwrap(), "gap-free, once");
    redis.kill();
}

#[tokio::test]
async fn a_replica_cut_off_from_redis_repairs_what_its_watchers_elsewhere_missed() {
    let redis = OwnRedis::start(free_port());
    let mut c = cluster(1, &redis.url(), &[]).await;
    // Replica A reaches Redis through a link the test can cut; B directly.
    let link = Link::open(redis.port).await;
    c.setup.set("OPENCHAT_REDIS_URL", link.url());
    let a = c.setup.start_chat().await;
    wait_for_cluster(&a, "ok").await;
    let b = &c.replicas[0];
    let token = a.user("hedy").await;
    let conversation = a.conversation(&token, "Partition").await;
    let mut on_b = watch(b, &token, &conversation).await;
    let generation = post(&a, &token, &conversation, "[[words=300]][[delay=10]]").await;
    let mut frames = deltas_of(&mut on_b, &generation, 20).await;
    link.cut();
    wait_for_cluster(&a, "degraded").await;
    assert_eq!(b.health().await["cluster"], "ok", "only A is cut off");
    // Meanwhile A renames the conversation and its reply ends; B hears of neither. The reply
    // stays past the time A keeps ended replies for late sockets (30 s).
    let path = format!("/api/v1/conversations/{conversation}");
    let (status, renamed) = a.put(&path, &token, json!({ "title": "Renamed while cut off" })).await;
    assert_eq!(status, 200, "{renamed}");
    let stored = a.settled_messages(&token, &conversation).await;
    let reply = stored.last().unwrap().clone();
    assert_eq!(reply["status"], "complete");
    tokio::time::sleep(Duration::from_secs(33)).await;
    link.mend();
    wait_for_cluster(&a, "ok").await;
    // Once A is back, B's socket gets the rest of the reply, once, and is told to read again
    // what only REST has (the new title).
    let healed = tokio::time::timeout(Duration::from_secs(15), on_b.until("resync")).await;
    frames.extend(
        healed
            .expect("the watcher on B hears what it missed")
            .into_iter()
            .filter(|f| f["generation_id"] == generation),
    );
    let done = frames.last().unwrap();
    assert_eq!(done["type"], "generation_done", "{done}");
    assert_eq!(done["status"], "complete");
    assert_eq!(text_of(&frames), reply["content"].as_str().unwrap(), "gap-free, once");
    assert_eq!(b.get(&path, &token).await["title"], "Renamed while cut off");
}

/// A TCP link to a local port that the test can cut (its connections drop, new ones are
/// refused) and mend: one process loses Redis while the others keep it.
struct Link {
    port: u16,
    open: tokio::sync::watch::Sender<bool>,
}

impl Link {
    async fn open(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, is_open) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut is_open = is_open.clone();
                if !*is_open.borrow() {
                    continue; // dropped: refused
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = is_open.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Self { port, open }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cut(&self) {
        self.open.send_replace(false);
    }

    fn mend(&self) {
        self.open.send_replace(true);
    }
}

/// Reads `count` more deltas of `generation` from a socket; returns the last seq.
async fn on_a_deltas(ws: &mut Ws, generation: &str, count: usize) -> u64 {
    let mut seen = 0;
    let mut last = 0;
    while seen < count {
        let frame = ws.next().await;
        if frame["generation_id"] == generation && frame["type"] == "delta" {
            seen += 1;
            last = frame["seq"].as_u64().unwrap();
        }
    }
    last
}

#[tokio::test]
async fn reply_caps_and_write_rates_hold_across_replicas() {
    let extra = [("OPENCHAT_CHAT_MESSAGES_PER_MINUTE", "10")];
    let c = cluster(2, "redis://127.0.0.1:6379", &extra).await;
    let [a, b] = &c.replicas[..] else { unreachable!() };

    // Ten messages a minute, counted once for the whole cluster.
    let token = a.user("hedy").await;
    let conversation = a.conversation(&token, "Rates").await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    for i in 0..10 {
        let replica = [a, b][i % 2];
        let (status, body) =
            replica.post(&path, &token, json!({"content": format!("m{i}"), "generate": false})).await;
        assert_eq!(status, 201, "message {i}: {body}");
    }
    let (status, body) = b.post(&path, &token, json!({"content": "one more", "generate": false})).await;
    assert_eq!(status, 429, "{body}");

    // Eight replies in progress per user, whichever replicas run them.
    let token = a.user("ida").await;
    for i in 0..8 {
        let replica = [a, b][i % 2];
        let conversation = replica.conversation(&token, &format!("Long {i}")).await;
        post(replica, &token, &conversation, "[[words=5000]][[delay=20]]").await;
    }
    let conversation = b.conversation(&token, "One too many").await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let (status, body) = b.post(&path, &token, json!({ "content": "[[words=3]]" })).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["detail"], "Too many replies in progress; wait for one to finish");
}

#[tokio::test]
async fn replicas_started_together_on_a_fresh_database_migrate_it_once() {
    let c = cluster(0, "redis://127.0.0.1:6379", &[]).await;
    let setup = &c.setup;
    // Three replicas race to migrate the same empty database; PostgreSQL's advisory lock lets
    // one apply each migration while the others wait and find it applied.
    let (a, b, third) = tokio::join!(setup.start_chat(), setup.start_chat(), setup.start_chat());
    let token = a.user("joan").await;
    for replica in [&a, &b, &third] {
        let conversation = replica.conversation(&token, "Migrated").await;
        assert_eq!(conversation.len(), 12, "every replica serves the migrated database");
    }
}

/// A user's sign-in to a server with its own authorization server, renewed by two replicas at
/// once, is renewed once: the second waits for the cluster's lock and finds the first's tokens.
/// Redeeming one refresh token twice would be seen as theft, and end the sign-in (the example
/// server revokes the family, as OAuth 2.1 asks).
#[tokio::test]
async fn two_replicas_renew_a_sign_in_once() {
    let life = Duration::from_secs(6);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tools = listener.local_addr().unwrap();
    let options = mcp_time::oauth::Options { token_life: life };
    tokio::spawn(mcp_time::serve_oauth(listener, Duration::ZERO, options));
    let allowed = tools.to_string();
    let c = cluster(2, "redis://127.0.0.1:6379", &[("OPENCHAT_TOOLS_ALLOWED_HOSTS", &allowed)]).await;
    let [a, b] = &c.replicas[..] else { unreachable!() };
    let token = a.user("olga").await;
    let server =
        json!({"name": "Clock", "server_url": format!("http://{tools}/mcp"), "config": {"oauth": true}});
    let (status, server) = a.post("/api/v1/mcp-servers/", &token, server).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_str().unwrap();

    // Begun on A, finished on B: the sign-in under way is in the database.
    let start = json!({"redirect_uri": "http://localhost:3000/tools/connected"});
    let (status, started) = a.post(&format!("/api/v1/mcp-servers/{id}/oauth/start"), &token, start).await;
    assert_eq!(status, 200, "{started}");
    let url = reqwest::Url::parse(started["authorization_url"].as_str().unwrap()).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.extend([("username".to_owned(), "olga".to_owned()), ("decision".to_owned(), "allow".to_owned())]);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = browser.post(url.join("/authorize").unwrap()).form(&form).send().await.unwrap();
    let back = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let param = |name: &str| back.query_pairs().find(|(k, _)| k == name).unwrap().1.into_owned();
    let callback = json!({"state": param("state"), "code": param("code")});
    let (status, signed) = b.post("/api/v1/mcp-servers/oauth/callback", &token, callback).await;
    assert_eq!((status, &signed["signed_in"]), (200, &json!(true)), "{signed}");

    let stats = || async {
        let url = format!("http://{tools}/oauth/stats");
        reqwest::get(url).await.unwrap().json::<Value>().await.unwrap()
    };
    let test = format!("/api/v1/mcp-servers/{id}/test");
    for round in 1..=3 {
        // Past half its life, both replicas need a new token at the same moment.
        tokio::time::sleep(life / 2 + Duration::from_millis(300)).await;
        let (on_a, on_b) = tokio::join!(a.post(&test, &token, json!({})), b.post(&test, &token, json!({})));
        assert_eq!((on_a.0, on_b.0), (200, 200), "round {round}: {on_a:?} {on_b:?}");
        let counted = stats().await;
        assert_eq!(counted["refreshes"], round, "{counted}");
        assert_eq!(counted["reuses_detected"], 0, "{counted}");
    }
}
