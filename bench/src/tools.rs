//! The tool loop (`bench/chat.sh tools`): what a tool call costs inside a reply over the raw
//! MCP round trip to the same server, and the memory of calls in flight. The example server
//! (`mcp-time`) runs in this process on a loopback port the administrator allows.

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

use crate::server::Server;
use crate::{percentile, ws};

const CALLS: usize = 300;
const ASK: &str = r#"[[call=get_current_time {"timezone": "Asia/Tokyo"}]]"#;

/// The example server on a loopback port, its answers delayed by `delay`: its `/mcp` URL.
async fn time_server(delay: Duration) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(mcp_time::serve_with_delay(listener, delay));
    (format!("http://127.0.0.1:{port}/mcp"), format!("127.0.0.1:{port}"))
}

async fn register(server: &Server, token: &str, url: &str) {
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/mcp-servers/"))
        .bearer_auth(token)
        .json(&json!({"name": "Clock", "server_url": url, "config": {"timeout_seconds": 120}}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "the server registers");
}

fn summary(name: &str, mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&values, 0.5), percentile(&values, 0.99));
    println!("{name} ({} samples): p50 {p50:.3} ms, p99 {p99:.3} ms", values.len());
    (p50, p99)
}

pub async fn run(binary: &str, fake: &fake_llm::FakeLlm) {
    let (url, host) = time_server(Duration::ZERO).await;
    let (slow_url, slow_host) = time_server(Duration::from_secs(20)).await;
    let mut env = crate::server::uncapped_sockets();
    env.push(("OPENCHAT_TOOLS_ALLOWED_HOSTS".into(), format!("{host},{slow_host}")));
    // 300 replies from one user in a minute: past the default write limits.
    env.push(("OPENCHAT_CHAT_MESSAGES_PER_MINUTE".into(), "0".into()));
    env.push(("OPENCHAT_CHAT_CONVERSATIONS_PER_HOUR".into(), "0".into()));
    let server = Server::start_with(binary, fake, "serve", &env, None).await;

    // The raw round trip: one MCP session, `tools/call` after `tools/call`.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let transport = StreamableHttpClientTransport::with_client(
        reqwest13::Client::new(),
        StreamableHttpClientTransportConfig::with_uri(url.as_str()),
    );
    let client = ().serve(transport).await.expect("the MCP handshake succeeds");
    let mut raw = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let mut params = CallToolRequestParams::new("get_current_time");
        params.arguments = json!({"timezone": "Asia/Tokyo"}).as_object().cloned();
        let began = Instant::now();
        client.call_tool(params).await.expect("the call answers");
        raw.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = client.cancel().await;
    let (raw_p50, raw_p99) = summary("raw MCP round trip (tools/call, one session)", raw);

    // The same call made by a reply: as the reply timed it, and as a socket sees it (from
    // tool_call_started to tool_call_done); and whole replies with and without a call.
    let token = server.user("tools").await;
    register(&server, &token, &url).await;
    let mut socket = ws::connect(&server.ws_url(&format!("/ws/chat/tools?token={token}"))).await;
    let id = server.conversation(&token).await;
    let (mut measured, mut seen, mut with_call, mut without) = (vec![], vec![], vec![], vec![]);
    for i in 0..CALLS {
        let ask = if i % 2 == 0 { ASK } else { "Hello" };
        // A socket may send 20 frames a second (flood control): one reply each 60 ms stays under.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let began = Instant::now();
        ws::send(&mut socket, "send_message", json!({"conversation_id": id, "content": ask})).await;
        let mut started = None;
        loop {
            let frame = ws::next(&mut socket).await;
            match frame["type"].as_str() {
                Some("tool_call_started") => started = Some(Instant::now()),
                Some("tool_call_done") => {
                    seen.push(started.expect("started first").elapsed().as_secs_f64() * 1000.0);
                    measured.push(frame["call"]["duration_ms"].as_f64().unwrap());
                }
                Some("generation_done") => break,
                Some("error") => panic!("the reply was refused: {frame}"),
                _ => {}
            }
        }
        let total = began.elapsed().as_secs_f64() * 1000.0;
        if i % 2 == 0 { with_call.push(total) } else { without.push(total) }
    }
    let (_, _) = summary("a reply's tool call, as the reply times it (duration_ms, whole ms)", measured);
    let (seen_p50, seen_p99) =
        summary("a reply's tool call, tool_call_started → tool_call_done on the socket", seen);
    println!(
        "added by the tool loop over the raw round trip (socket view): p50 {:.3} ms, p99 {:.3} ms",
        seen_p50 - raw_p50,
        seen_p99 - raw_p99
    );
    let (with_p50, with_p99) = summary("whole reply with one tool call (two model requests)", with_call);
    let (without_p50, without_p99) = summary("whole reply without tools", without);
    println!(
        "a round of tool calls adds to a reply: p50 {:.3} ms, p99 {:.3} ms",
        with_p50 - without_p50,
        with_p99 - without_p99
    );

    // Memory: calls held in flight by a server that answers after 20 s, 8 per user.
    let before = server.rss_kib();
    let users = 50;
    let mut sockets = Vec::new();
    for u in 0..users {
        let token = server.user(&format!("slow{u}")).await;
        register(&server, &token, &slow_url).await;
        let mut socket = ws::connect(&server.ws_url(&format!("/ws/chat/slow{u}?token={token}"))).await;
        for _ in 0..8 {
            let id = server.conversation(&token).await;
            ws::send(&mut socket, "send_message", json!({"conversation_id": id, "content": ASK})).await;
        }
        sockets.push(socket);
    }
    let mut started = 0;
    for socket in &mut sockets {
        let mut here = 0;
        while here < 8 {
            match ws::next_within(socket, Duration::from_secs(10)).await {
                Some(frame) if frame["type"] == "tool_call_started" => here += 1,
                Some(_) => {}
                None => break,
            }
        }
        started += here;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = server.rss_kib();
    println!(
        "{started} tool calls in flight ({users} users × 8 replies, 1 MCP session each): RSS {:.1} → {:.1} MiB, \
         {:.1} KiB per call (reply, socket and session included)",
        before as f64 / 1024.0,
        during as f64 / 1024.0,
        (during.saturating_sub(before)) as f64 / started.max(1) as f64
    );
}
