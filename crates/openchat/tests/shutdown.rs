//! SIGTERM stops `openchat serve` within `OPENCHAT_HTTP_SHUTDOWN_TIMEOUT_SECS` even while a
//! client holds a streamed reply open and never reads it.

mod support;

use std::time::Duration;

use common::both_backends;
use common::testing::{TestBackend, fresh_database, temp_dir};
use tokio::io::AsyncWriteExt;

use support::Setup;

both_backends!(sigterm_is_not_held_by_a_client_that_never_reads);

async fn sigterm_is_not_held_by_a_client_that_never_reads(backend: TestBackend) {
    let fake = fake_llm::FakeLlm::start().await;
    let dir = temp_dir("openchat-shutdown");
    let mut setup = Setup::new(&dir);
    setup.set("OPENAI_BASE_URL", fake.openai_base());
    setup.set("OPENAI_API_KEY", "test-key");
    setup.set("OPENCHAT_LOCAL_MODEL", "off");
    setup.set("OPENCHAT_HTTP_SHUTDOWN_TIMEOUT_SECS", "2");
    // A reply of megabytes, past the default reply caps, so the reader falls far behind.
    setup.set("OPENCHAT_MAX_REPLY_TOKENS", "1000000");
    setup.set("OPENCHAT_MAX_REPLY_BYTES", "67108864");
    if backend == TestBackend::Postgres {
        setup.set("OPENCHAT_CHAT_DATABASE_URL", fresh_database(backend, &dir, "chat.db").await);
    }
    let mut server = setup.start().await;
    let token = server.user("sam").await;
    let id = server.conversation(&token, "Never read").await;

    // A streamed reply of many megabytes of events, asked for by a client with a tiny receive
    // window that never reads a byte of it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut reader = socket.connect(format!("127.0.0.1:{}", setup.chat_port).parse().unwrap()).await.unwrap();
    let body = serde_json::json!({ "content": "[[words=100000]]" }).to_string();
    let request = format!(
        "POST /api/v1/conversations/{id}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    reader.write_all(request.as_bytes()).await.unwrap();
    // Wait until the reply holds far more events than both socket buffers can take (~60 000
    // deltas of well over 100 bytes each), so the response is stuck on a full buffer.
    let mut saved = 0;
    for _ in 0..1200 {
        let messages = server.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
        saved = messages
            .as_array()
            .and_then(|m| m.get(1))
            .and_then(|m| m["content"].as_str())
            .map_or(0, str::len);
        if saved >= 400_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saved >= 400_000, "the reply never grew: {saved} bytes");

    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    // The guard is far beyond the 2 s deadline: without one, the process never exits.
    let mut exited = None;
    for _ in 0..600 {
        if let Some(status) = server.child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = exited.expect("openchat still running 30 s after SIGTERM");
    assert!(status.success(), "openchat stopped with {status}");
    drop(reader);
}
