//! `openchat-bench OPENCHAT_BINARY`: starts `openchat serve` against the in-process fake
//! provider and measures the chat service: delta relay latency, time-to-first-token overhead,
//! 1 000 concurrent generations (checking every delta arrives once, in order), REST
//! throughput, and the memory of idle authenticated WebSockets. Loopback only, bounded.
//! A second argument runs one part only: relay, ttft, rest, concurrent, idle or search (the
//! last one runs only when asked for: it stores 100 000 messages); `abuse` and `abuse-spread`
//! (only when asked for) measure honest users during an attack (`abuse.rs`); `relay-cluster`
//! (only when asked for) the relay on a socket of another replica, `concurrent-cluster`,
//! `idle-cluster` and `failover` the same over replicas (`cluster.rs`: PostgreSQL and a Redis
//! of their own); `tools` (only when asked for) the tool loop over the raw MCP round trip and
//! the memory of tool calls in flight (`tools.rs`).

mod abuse;
mod cluster;
mod search;
mod server;
mod tools;
mod ws;

use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use serde_json::json;

use server::Server;

#[tokio::main]
async fn main() {
    let binary = std::env::args().nth(1).expect("usage: openchat-bench PATH/TO/openchat");
    let fake = fake_llm::FakeLlm::start().await;
    match std::env::args().nth(2).as_deref() {
        Some("relay-cluster") => return cluster::relay(&binary, &fake).await,
        Some("concurrent-cluster") => return cluster::concurrent(&binary, &fake).await,
        Some("idle-cluster") => return cluster::idle(&binary, &fake).await,
        Some("failover") => return cluster::failover(&binary, &fake).await,
        Some("tools") => return tools::run(&binary, &fake).await,
        _ => {}
    }
    // The abuse runs measure the default caps; the others lift the per-user and per-address
    // socket caps (every socket comes from one address, thousands of them from one user).
    let only = std::env::args().nth(2).unwrap_or_default();
    let env = match only.starts_with("abuse") {
        true => Vec::new(),
        false => server::uncapped_sockets(),
    };
    let server = Server::start_with(&binary, &fake, "serve", &env, None).await;
    println!("openchat serve pid {} — idle RSS {:.1} MiB", server.pid(), server.rss_kib() as f64 / 1024.0);

    let token = server.user("bench").await;
    let run = |name: &str| only.is_empty() || only == name;
    if run("relay") {
        relay_latency(&server, &token).await;
    }
    if run("ttft") {
        ttft_overhead(&server, &fake, &token).await;
    }
    if run("rest") {
        rest_throughput(&server, &token).await;
    }
    if run("concurrent") {
        concurrent_generations(&[&server], 50, 20, "load").await;
    }
    if run("idle") {
        idle_sockets(&server, &[server.ws_url(&format!("/ws/chat/bench?token={token}"))], 10_000).await;
    }
    if only == "search" {
        search::search_latency(&server, &token).await;
    }
    if only == "abuse" || only == "abuse-spread" {
        // The slow connections from one address, or spread over 20 (each under its cap).
        let slow_addresses = if only == "abuse" { 1 } else { 20 };
        let attack =
            abuse::Attack { slow_connections: 2000, slow_addresses, stalled_sockets: 100, login_flooders: 8 };
        abuse::run(&server, attack).await;
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn now_micros() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()
}

/// Each delta carries the instant the fake provider sent it; the difference at the client is
/// the whole relay path (provider → chat service → WebSocket client).
async fn relay_latency(server: &Server, token: &str) {
    let id = server.conversation(token).await;
    let mut socket = ws::connect(&server.ws_url(&format!("/ws/chat/bench?token={token}"))).await;
    let mut latencies = Vec::new();
    // Paced at ~2 ms per token (faster than any model streams), so the figure is the relay's
    // own delay rather than a queue building up behind a provider that outruns the client.
    for _ in 0..4 {
        ws::send(
            &mut socket,
            "send_message",
            json!({"conversation_id": id, "content": "[[words=500]][[stamp]][[delay=2]]"}),
        )
        .await;
        loop {
            let frame = ws::next(&mut socket).await;
            match frame["type"].as_str() {
                Some("delta") => {
                    let sent: u128 = frame["text"].as_str().unwrap().trim().parse().unwrap();
                    latencies.push((now_micros() - sent) as f64 / 1000.0);
                }
                Some("generation_done") => break,
                _ => {}
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "delta relay latency (provider → client, {} deltas, one every ~2 ms): p50 {:.3} ms, p99 {:.3} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}

/// Latencies of stamped deltas on a socket until `replies` replies have ended.
pub(crate) async fn stamped_latencies(socket: &mut ws::Socket, replies: usize) -> Vec<f64> {
    let mut latencies = Vec::new();
    let mut ended = 0;
    while ended < replies {
        let frame = ws::next(socket).await;
        match frame["type"].as_str() {
            Some("delta") => {
                let sent: u128 = frame["text"].as_str().unwrap().trim().parse().unwrap();
                latencies.push((now_micros() - sent) as f64 / 1000.0);
            }
            Some("generation_done") => ended += 1,
            _ => {}
        }
    }
    latencies
}

/// Time to first token through the chat service minus straight from the provider.
async fn ttft_overhead(server: &Server, fake: &fake_llm::FakeLlm, token: &str) {
    let client = reqwest::Client::new();
    let mut direct = Vec::new();
    let mut via = Vec::new();
    let id = server.conversation(token).await;
    let mut socket = ws::connect(&server.ws_url(&format!("/ws/chat/bench?token={token}"))).await;
    for _ in 0..100 {
        let start = Instant::now();
        let response = client
            .post(format!("{}/chat/completions", fake.openai_base()))
            .json(&json!({"model": "fake-model", "stream": true, "messages": [{"role": "user", "content": "[[words=3]]"}]}))
            .send()
            .await
            .unwrap();
        let mut body = response.bytes_stream();
        body.next().await;
        direct.push(start.elapsed().as_secs_f64() * 1000.0);
        drop(body);

        let start = Instant::now();
        ws::send(&mut socket, "send_message", json!({"conversation_id": id, "content": "[[words=3]]"})).await;
        let mut first = None;
        loop {
            let frame = ws::next(&mut socket).await;
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!("{frame}");
            }
            if frame["type"] == "delta" && first.is_none() {
                first = Some(start.elapsed().as_secs_f64() * 1000.0);
            }
            if frame["type"] == "generation_done" {
                break;
            }
        }
        via.push(first.unwrap());
        // Stay under the socket's frame rate limit (20 a second).
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    direct.sort_by(f64::total_cmp);
    via.sort_by(f64::total_cmp);
    println!(
        "time to first token: direct p50 {:.2} ms; through openchat p50 {:.2} ms, p99 {:.2} ms; overhead p50 {:.2} ms \
         (includes storing the user message and the empty reply)",
        percentile(&direct, 0.5),
        percentile(&via, 0.5),
        percentile(&via, 0.99),
        percentile(&via, 0.5) - percentile(&direct, 0.5)
    );
}

/// 32 clients for 5 s each: creating conversations, then posting messages (stored without a
/// reply), each client in a conversation of its own, as different users' tabs would.
async fn rest_throughput(server: &Server, token: &str) {
    const CLIENTS: usize = 32;
    let mut own_conversations = Vec::new();
    for _ in 0..CLIENTS {
        own_conversations.push(server.conversation(token).await);
    }
    for (name, post_messages) in [("create conversation", false), ("post message (stored, no reply)", true)] {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let workers: Vec<_> = own_conversations
            .iter()
            .map(|id| {
                let (url, body) = if post_messages {
                    (
                        server.url(&format!("/api/v1/conversations/{id}/messages")),
                        json!({"content": "hello", "generate": false}),
                    )
                } else {
                    (server.url("/api/v1/conversations/"), json!({"title": "load"}))
                };
                let (client, token) = (client.clone(), token.to_owned());
                tokio::spawn(async move {
                    let (mut ok, mut failed) = (0u64, 0u64);
                    while Instant::now() < deadline {
                        match client.post(&url).bearer_auth(&token).json(&body).send().await {
                            Ok(r) if r.status().is_success() => ok += 1,
                            _ => failed += 1,
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        let (mut ok, mut failed) = (0, 0);
        for worker in workers {
            let (o, f) = worker.await.unwrap();
            ok += o;
            failed += f;
        }
        println!("{name}: {:.0} req/s with {CLIENTS} concurrent clients ({failed} failed)", ok as f64 / 5.0);
    }
}

/// 125 users × 8 conversations, all replies at once, each user's on `servers[i % n]`; every
/// reply must arrive complete, with gap-free `seq` and no duplicates, there and (with more than
/// one server) on a socket of the next server that subscribed to the user's conversations.
pub(crate) async fn concurrent_generations(servers: &[&Server], words: usize, delay: u64, prefix: &str) {
    const USERS: usize = 125;
    const PER_USER: usize = 8; // the most unfinished replies one user may have
    let n = servers.len();
    let mut tasks = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..USERS {
        tokens.push(servers[0].user(&format!("{prefix}{i}")).await);
    }
    let rss_before: Vec<u64> = servers.iter().map(|s| s.rss_kib()).collect();
    let start = Instant::now();
    for (i, token) in tokens.into_iter().enumerate() {
        let path = format!("/ws/chat/{prefix}{i}?token={token}");
        let sender_url = servers[i % n].ws_url(&path);
        let watcher_url = (n > 1).then(|| servers[(i + 1) % n].ws_url(&path));
        let conversations: Vec<String> =
            futures_util::future::join_all((0..PER_USER).map(|_| servers[i % n].conversation(&token))).await;
        tasks.push(tokio::spawn(async move {
            let mut watcher = None;
            if let Some(url) = watcher_url {
                let mut socket = ws::connect(&url).await;
                for id in &conversations {
                    ws::send(&mut socket, "subscribe", json!({"conversation_id": id})).await;
                }
                let mut subscribed = 0;
                while subscribed < PER_USER {
                    if ws::next(&mut socket).await["type"] == "subscribed" {
                        subscribed += 1;
                    }
                }
                watcher = Some(tokio::spawn(async move { check_replies(&mut socket).await }));
            }
            let mut socket = ws::connect(&sender_url).await;
            for id in &conversations {
                let content = format!("[[words={words}]][[delay={delay}]]");
                ws::send(&mut socket, "send_message", json!({"conversation_id": id, "content": content}))
                    .await;
            }
            let mut problems = check_replies(&mut socket).await;
            if let Some(watcher) = watcher {
                problems += watcher.await.unwrap();
            }
            problems
        }));
    }
    let mut peak = rss_before.clone();
    let mut problems = 0;
    for task in tasks {
        for (peak, server) in peak.iter_mut().zip(servers) {
            *peak = (*peak).max(server.rss_kib());
        }
        problems += task.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let sockets = if n > 1 { 2 } else { 1 };
    let rss: Vec<String> = rss_before
        .iter()
        .zip(&peak)
        .map(|(before, peak)| format!("{:.1} → {:.1}", *before as f64 / 1024.0, *peak as f64 / 1024.0))
        .collect();
    println!(
        "{} concurrent generations on {n} server(s) ({USERS} users × {PER_USER}, {words} deltas each, {delay} ms \
         apart, {sockets} socket(s) each): all done in {elapsed:.2} s, {:.0} deltas/s delivered, {problems} \
         lost/duplicated/out-of-order deltas or mismatched texts; RSS MiB {}",
        USERS * PER_USER,
        (USERS * PER_USER * words * sockets) as f64 / elapsed,
        rss.join(", ")
    );
}

/// Reads a user's socket until its `PER_USER` replies are done; counts what is wrong. A socket
/// silent for 30 s (pings aside) while replies are unfinished counts each as lost.
async fn check_replies(socket: &mut ws::Socket) -> u64 {
    let mut texts: std::collections::HashMap<String, (u64, String)> = Default::default();
    let (mut done, mut problems) = (0, 0u64);
    while done < 8 {
        let Some(frame) = ws::next_within(socket, Duration::from_secs(30)).await else {
            eprintln!(
                "silent for 30 s with {} replies unfinished; seen: {:?}",
                8 - done,
                texts.values().map(|t| t.0).collect::<Vec<_>>()
            );
            return problems + 8 - done;
        };
        match frame["type"].as_str() {
            Some("delta") => {
                let entry = texts.entry(frame["generation_id"].as_str().unwrap().to_owned()).or_default();
                if frame["seq"].as_u64() != Some(entry.0 + 1) {
                    problems += 1;
                }
                entry.0 = frame["seq"].as_u64().unwrap();
                entry.1.push_str(frame["text"].as_str().unwrap());
            }
            Some("generation_done") => {
                done += 1;
                let text = &texts
                    .get(frame["generation_id"].as_str().unwrap())
                    .map(|t| t.1.clone())
                    .unwrap_or_default();
                if frame["status"] != "complete"
                    || frame["message"]["content"].as_str() != Some(text.as_str())
                {
                    eprintln!(
                        "{} {}: {} deltas seen",
                        frame["generation_id"],
                        frame["status"],
                        texts.get(frame["generation_id"].as_str().unwrap()).map(|t| t.0).unwrap_or(0)
                    );
                    problems += 1;
                }
            }
            Some("error") => {
                eprintln!("{frame}");
                problems += 1;
            }
            _ => {}
        }
    }
    problems
}

/// `count` idle sockets, taking the URLs in turn; reports the server's RSS per socket.
pub(crate) async fn idle_sockets(server: &Server, urls: &[String], count: usize) -> Vec<ws::Socket> {
    let before = server.rss_kib();
    let mut sockets = Vec::with_capacity(count);
    'batches: for chunk in 0..count.div_ceil(100) {
        let batch = futures_util::future::join_all(
            (chunk * 100..((chunk + 1) * 100).min(count)).map(|i| ws::try_connect(&urls[i % urls.len()])),
        )
        .await;
        for socket in batch {
            match socket {
                Some(s) => sockets.push(s),
                None => {
                    println!("idle sockets: connection refused after {} (batch {chunk})", sockets.len());
                    break 'batches;
                }
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A socket over a cap is told so and closed right after its handshake: count only the
    // ones still served.
    let before_check = sockets.len();
    sockets.retain_mut(|socket| socket.next().now_or_never().is_none());
    if sockets.len() < before_check {
        println!("idle sockets: {} were refused after their handshake", before_check - sockets.len());
    }
    let after = server.rss_kib();
    println!(
        "{} idle authenticated WebSockets ({} users): RSS {:.1} → {:.1} MiB, {:.2} KiB per socket",
        sockets.len(),
        urls.len(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 / sockets.len().max(1) as f64
    );
    sockets
}
