//! WebSocket robustness with real clients: a client that stops reading is dropped without
//! holding up anyone, the fan-out's memory is bounded, frames are limited from their header,
//! and sockets are capped per user and per address.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{Backend, TestChat, text_of};
use common::both_backends;

both_backends!(
    a_socket_that_stops_reading_is_dropped_and_others_keep_working,
    a_socket_that_falls_behind_gets_every_reply_even_those_that_ended_meanwhile,
    sockets_are_capped_per_user_and_per_address,
    behind_a_trusted_proxy_sockets_are_capped_per_forwarded_address,
    big_frames_and_big_first_frames_are_refused,
    open_sockets_count_against_the_connection_cap,
);

type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A client on a socket with a small receive window (so a server writing to it soon waits).
async fn raw_client(app: &TestChat, path: &str) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr = app.base.trim_start_matches("http://").parse().unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (client, _) = tokio_tungstenite::client_async(app.ws_url(path), tcp).await.expect("handshake");
    client
}

/// The next text frame as JSON, or the close frame's code and reason as
/// `{"type": "__closed", ...}`; the socket ending without one is `{"type": "__ended"}`.
async fn next_frame(client: &mut Client) -> Value {
    loop {
        let frame =
            tokio::time::timeout(Duration::from_secs(30), client.next()).await.expect("a frame within 30 s");
        match frame {
            Some(Ok(WsMessage::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(WsMessage::Close(frame))) => {
                let (code, reason) =
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or_default();
                return json!({"type": "__closed", "code": code, "reason": reason});
            }
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return json!({"type": "__ended"}),
        }
    }
}

/// A socket on `path` once a place has been freed (the server frees it when it sees the close,
/// so the first tries may still be refused); panics after 5 s.
async fn socket_when_free(app: &TestChat, path: &str) -> Client {
    for _ in 0..100 {
        if let Ok(client) = try_socket(app, path).await {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a freed place never served");
}

/// Opens a socket and pings it: `Ok` when it serves, `Err(frames)` when it was refused.
async fn try_socket(app: &TestChat, path: &str) -> Result<Client, Vec<Value>> {
    pinged(raw_client(app, path).await).await
}

/// Pings a new socket: the socket once it answers, or the frames it got before it closed.
async fn pinged(mut client: Client) -> Result<Client, Vec<Value>> {
    let ping = json!({"action": "ping"}).to_string();
    if client.send(WsMessage::text(ping)).await.is_err() {
        return Err(vec![json!({"type": "__ended"})]);
    }
    let mut frames = Vec::new();
    loop {
        let frame = next_frame(&mut client).await;
        match frame["type"].as_str() {
            Some("pong") => return Ok(client),
            Some("__closed" | "__ended") => {
                frames.push(frame);
                return Err(frames);
            }
            _ => frames.push(frame),
        }
    }
}

async fn a_socket_that_stops_reading_is_dropped_and_others_keep_working(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.ws_send_timeout_secs = 1;
        config.chat.ws_max_sockets_per_user = 2;
        // A reply long enough to fill the socket's buffers (beyond the default reply caps).
        config.chat.max_reply_tokens = 1_000_000;
        config.chat.max_reply_bytes = 64 * 1024 * 1024;
    })
    .await;
    let token = app.user("alice").await;
    let long = app.conversation(&token, "Long").await;
    let short = app.conversation(&token, "Short").await;
    let path = format!("/ws/chat/alice?token={token}");

    // A asks for a long reply and never reads a byte of it.
    let mut stalled = raw_client(&app, &path).await;
    let ask =
        json!({"action": "send_message", "data": {"conversation_id": long, "content": "[[words=100000]]"}});
    stalled.send(WsMessage::text(ask.to_string())).await.unwrap();

    // Meanwhile alice's other socket and another user are served as ever.
    let mut other = app.ws(&path).await;
    other.send("send_message", json!({"conversation_id": short, "content": "[[reply=still here]]"})).await;
    let frames = other.until("generation_done").await;
    assert_eq!(text_of(&frames, 1), "still here");
    let bob = app.user("bob").await;
    let bobs = app.conversation(&bob, "Bob's").await;
    let mut bob_ws = app.ws(&format!("/ws/chat/bob?token={bob}")).await;
    bob_ws.send("send_message", json!({"conversation_id": bobs, "content": "[[reply=hello bob]]"})).await;
    assert_eq!(text_of(&bob_ws.until("generation_done").await, 1), "hello bob");

    // Alice is at her cap of 2 sockets until the server drops the one that stopped reading;
    // then a new socket is served and resumes the long reply to its end.
    let mut resumed = None;
    for _ in 0..300 {
        match try_socket(&app, &path).await {
            Ok(client) => {
                resumed = Some(client);
                break;
            }
            Err(frames) => {
                assert_eq!(frames[0]["code"], "too_many_sockets", "{frames:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let mut resumed = resumed.expect("the socket that stopped reading was never dropped");
    let subscribe = json!({"action": "subscribe", "data": {"conversation_id": long, "after_seq": 0}});
    resumed.send(WsMessage::text(subscribe.to_string())).await.unwrap();
    let mut frames = Vec::new();
    loop {
        let frame = next_frame(&mut resumed).await;
        assert!(!matches!(frame["type"].as_str(), Some("__closed" | "__ended")), "{frame}");
        let done = frame["type"] == "generation_done";
        frames.push(frame);
        if done {
            break;
        }
    }
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete");
    let text = done["message"]["content"].as_str().unwrap();
    assert!(text.starts_with("w1 w2 ") && text.trim_end().ends_with("w100000"), "{:.60}", text);

    // The fan-out keeps a bounded amount per user, however large the messages.
    let big = "m".repeat(30_000);
    for _ in 0..60 {
        let (status, _) = app
            .post(
                &format!("/api/v1/conversations/{short}/messages"),
                &token,
                json!({"content": big, "generate": false}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let kept = app.chat_state.generations.bus().hub().most_kept_bytes();
    assert!(kept <= chat::generation::MAX_HUB_BYTES, "{kept} bytes kept");
    drop(stalled);
}

async fn a_socket_that_falls_behind_gets_every_reply_even_those_that_ended_meanwhile(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.max_reply_tokens = 1_000_000;
        config.chat.max_reply_bytes = 64 * 1024 * 1024;
    })
    .await;
    let token = app.user("sam").await;
    let mut client = raw_client(&app, &format!("/ws/chat/sam?token={token}")).await;
    // The socket watches three conversations; then an endless reply fills its buffers and the
    // user's event ring overflows while the client reads nothing, and three short replies
    // start and end meanwhile (asked through REST: the blocked socket reads no frames), their
    // events pushed out of the ring by the endless one's.
    let mut asked = Vec::new();
    for title in ["A", "B", "C"] {
        let id = app.conversation(&token, title).await;
        let subscribe = json!({"action": "subscribe", "data": {"conversation_id": id}});
        client.send(WsMessage::text(subscribe.to_string())).await.unwrap();
        while next_frame(&mut client).await["type"] != "subscribed" {}
        asked.push(id);
    }
    let long = app.conversation(&token, "Long").await;
    let ask = json!({"action": "send_message", "data": {"conversation_id": long, "content": "[[endless]]"}});
    client.send(WsMessage::text(ask.to_string())).await.unwrap();
    asked.push(long);
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in &asked[..3] {
        let path = format!("/api/v1/conversations/{id}/messages");
        let (status, _) = app.post(&path, &token, json!({"content": "[[words=40]]"})).await;
        assert_eq!(status, 201);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut replies: std::collections::HashMap<String, (u64, String)> = Default::default();
    let mut ended = Vec::new();
    let mut stopping = false;
    let mut told_to_reread = false;
    while ended.len() < asked.len() {
        let frame = next_frame(&mut client).await;
        assert!(!matches!(frame["type"].as_str(), Some("__closed" | "__ended")), "{frame}");
        let conversation = frame["conversation_id"].as_str().unwrap_or_default().to_owned();
        match frame["type"].as_str() {
            Some("delta") => {
                let (seq, text) = replies.entry(conversation).or_default();
                assert_eq!(frame["seq"].as_u64().unwrap(), *seq + 1, "gap-free, once: {frame}");
                *seq += 1;
                text.push_str(frame["text"].as_str().unwrap());
                // Every short reply ended: stop the endless one.
                if ended.len() == 3 && !stopping && frame["conversation_id"] == asked[3] {
                    let stop = json!({"action": "stop", "data": {"generation_id": frame["generation_id"]}});
                    client.send(WsMessage::text(stop.to_string())).await.unwrap();
                    stopping = true;
                }
            }
            Some("generation_done") => {
                let expected = if conversation == asked[3] { "cancelled" } else { "complete" };
                assert_eq!(frame["status"], expected, "{frame}");
                let streamed = replies.get(&conversation).map(|r| r.1.as_str()).unwrap_or_default();
                assert_eq!(frame["message"]["content"], streamed, "every delta before the end");
                ended.push(conversation);
            }
            // The messages it missed (`message_accepted`) are for the client to read again.
            Some("resync") => told_to_reread = true,
            _ => {}
        }
    }
    assert_eq!(
        ended[..3].iter().filter(|c| asked[..3].contains(c)).count(),
        3,
        "each short reply ended once"
    );
    assert!(told_to_reread, "the socket says that events were lost");
}

async fn sockets_are_capped_per_user_and_per_address(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.chat.ws_max_sockets_per_user = 2;
        config.chat.ws_max_sockets_per_ip = 4;
    })
    .await;
    let token = app.user("alice").await;
    let path = format!("/ws/chat/alice?token={token}");
    let first = try_socket(&app, &path).await.expect("first socket");
    let _second = try_socket(&app, &path).await.expect("second socket");
    let refused = try_socket(&app, &path).await.expect_err("a third socket is refused");
    assert_eq!(refused[0]["type"], "error", "{refused:?}");
    assert_eq!(refused[0]["code"], "too_many_sockets");
    assert!(refused[0]["detail"].as_str().unwrap().contains("Too many open sockets for this user"));
    assert_eq!(refused[1]["code"], 1008);
    assert_eq!(refused[1]["reason"], "too many sockets for this user");
    // /ws/chat counts the same user once authenticated.
    let mut anonymous = raw_client(&app, "/ws/chat").await;
    anonymous
        .send(WsMessage::text(json!({"action": "authenticate", "token": token}).to_string()))
        .await
        .unwrap();
    let mut error = next_frame(&mut anonymous).await;
    if error["type"] == "authenticated" {
        error = next_frame(&mut anonymous).await;
    }
    assert_eq!(error["code"], "too_many_sockets", "{error}");
    // A closed socket frees its place.
    drop(first);
    let _third = socket_when_free(&app, &path).await;

    // Per address: alice holds 2, and 2 sockets that have not authenticated fill the cap of 4.
    let _waiting = [raw_client(&app, "/ws/chat").await, raw_client(&app, "/ws/chat").await];
    let bob = app.user("bob").await;
    let refused =
        try_socket(&app, &format!("/ws/chat/bob?token={bob}")).await.expect_err("over the address cap");
    assert_eq!(refused[0]["code"], "too_many_sockets", "{refused:?}");
    assert!(refused[0]["detail"].as_str().unwrap().contains("Too many sockets from this address"));
    assert_eq!(refused[1]["reason"], "too many sockets from this address");
}

/// A socket whose handshake carries `X-Forwarded-For: forwarded`, pinged: `Ok` when served.
async fn try_socket_via_proxy(app: &TestChat, path: &str, forwarded: &str) -> Result<Client, Vec<Value>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = app.ws_url(path).into_client_request().unwrap();
    request.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, _) = tokio_tungstenite::client_async(request, tcp).await.expect("handshake");
    pinged(client).await
}

/// Behind a reverse proxy every socket comes from the proxy's address: the per-address cap
/// counts the client address the proxy forwards, or one proxy would cap every user together.
async fn behind_a_trusted_proxy_sockets_are_capped_per_forwarded_address(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.auth.trusted_proxies = "127.0.0.0/8".parse().unwrap();
        config.chat.ws_max_sockets_per_ip = 2;
    })
    .await;
    let token = app.user("alice").await;
    let path = format!("/ws/chat/alice?token={token}");
    let _first = try_socket_via_proxy(&app, &path, "203.0.113.1").await.expect("first socket");
    let _second = try_socket_via_proxy(&app, &path, "203.0.113.1").await.expect("second socket");
    let refused = try_socket_via_proxy(&app, &path, "203.0.113.1").await.expect_err("over the cap");
    assert_eq!(refused[0]["code"], "too_many_sockets", "{refused:?}");
    // Another client behind the same proxy has places of its own.
    let _other = try_socket_via_proxy(&app, &path, "203.0.113.2").await.expect("another client's socket");
}

async fn big_frames_and_big_first_frames_are_refused(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("alice").await;
    // A frame announcing 8 MiB is refused from its header: the server closes with 1009 while
    // the client has sent only a few bytes of it (without the limit it would wait for all).
    let mut client = raw_client(&app, &format!("/ws/chat/alice?token={token}")).await;
    let mut header = vec![0x81u8, 0xFF];
    header.extend_from_slice(&(8u64 * 1024 * 1024).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]); // mask
    header.extend_from_slice(&[b'x'; 1000]);
    client.get_mut().write_all(&header).await.unwrap();
    let closed = next_frame(&mut client).await;
    assert!(closed["type"] == "__ended" || closed["code"] == 1009, "{closed}");
    if closed["type"] == "__closed" {
        assert_eq!(closed["reason"], "frame too large");
    }

    // Before authenticating, /ws/chat takes one small frame.
    let mut anonymous = raw_client(&app, "/ws/chat").await;
    let padded = json!({"action": "authenticate", "token": token, "pad": "p".repeat(20_000)});
    anonymous.send(WsMessage::text(padded.to_string())).await.unwrap();
    let closed = next_frame(&mut anonymous).await;
    assert_eq!(closed["code"], 1008, "{closed}");
    assert_eq!(closed["reason"], "authenticate first, in a frame of at most 16 KiB");
}

/// An upgraded connection keeps its place under the port's connection cap (`[http]
/// max_connections`) for as long as the socket is open, and gives it back when it closes.
async fn open_sockets_count_against_the_connection_cap(backend: Backend) {
    const CAP: usize = 3;
    let app = TestChat::spawn_with(backend, |config| config.http.max_connections = CAP).await;
    let token = app.user("alice").await;
    let path = format!("/ws/chat/alice?token={token}");
    let mut sockets = Vec::new();
    for _ in 0..CAP {
        sockets.push(try_socket(&app, &path).await.expect("a socket under the cap"));
    }
    // The sockets are open and serving: a further connection of any kind is refused.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut over = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::AsyncReadExt::read_to_end(&mut over, &mut answer),
    )
    .await
    .expect("the refused connection is closed")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let refused = tokio_tungstenite::client_async(app.ws_url(&path), tcp).await;
    assert!(refused.is_err(), "a socket over the cap was accepted");
    // The sockets still work, and a closed one frees its place.
    let mut first = sockets.remove(0);
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    socket_when_free(&app, &path).await;
    for socket in &mut sockets {
        socket.send(WsMessage::text(json!({"action": "ping"}).to_string())).await.unwrap();
        assert_eq!(next_frame(socket).await["type"], "pong");
    }
}
