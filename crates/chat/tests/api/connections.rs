//! Connection limits of the served ports (`[http]`): a header that never ends is cut, the
//! connection cap answers 503 and closes, and a freed slot serves again.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestChat};
use common::both_backends;

both_backends!(
    a_half_sent_header_is_cut_after_the_header_timeout,
    connections_over_the_cap_are_refused,
    connections_over_the_address_cap_are_refused,
);

/// A connection from `source` (a loopback address: every 127.x.y.z reaches this machine).
async fn connect_from(source: [u8; 4], addr: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((std::net::Ipv4Addr::from(source), 0).into()).unwrap();
    socket.connect(addr.parse().unwrap()).await.unwrap()
}

/// One address cannot hold more than `max_connections_per_address` connections: the next is
/// answered 429 and closed, while other addresses, and trusted proxies (which carry many
/// clients), are served.
async fn connections_over_the_address_cap_are_refused(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| {
        config.http.max_connections_per_address = 3;
        config.auth.trusted_proxies = vec![[127, 0, 0, 3].into()].into();
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 2], &addr).await);
    }
    let mut over = connect_from([127, 0, 0, 2], &addr).await;
    let answer = read_until_closed(&mut over, Duration::from_secs(30)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("Too many open connections from your address"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 5"), "{answer}");

    // Another address is served, and so is a proxy beyond the cap.
    for source in [[127, 0, 0, 4], [127, 0, 0, 3], [127, 0, 0, 3], [127, 0, 0, 3], [127, 0, 0, 3]] {
        let mut tcp = connect_from(source, &addr).await;
        held.push(connect_from(source, &addr).await);
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
        let answer = read_until_closed(&mut tcp, Duration::from_secs(30)).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{source:?}: {}", String::from_utf8_lossy(&answer));
    }
    // A closed connection gives its place back.
    held.truncate(2);
    let mut served = false;
    for _ in 0..100 {
        let mut tcp = connect_from([127, 0, 0, 2], &addr).await;
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
        if read_until_closed(&mut tcp, Duration::from_secs(30)).await.starts_with(b"HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a freed place never served");
}

/// Everything the server sends until it closes the connection; panics if it is still open after
/// `guard` (which is far beyond any configured timeout: the server, not the guard, must end it).
async fn read_until_closed(tcp: &mut TcpStream, guard: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(guard, async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open: {}", String::from_utf8_lossy(&received));
    received
}

async fn a_half_sent_header_is_cut_after_the_header_timeout(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| config.http.header_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
    let idle = TcpStream::connect(&addr).await.unwrap(); // sends nothing at all
    read_until_closed(&mut slow, Duration::from_secs(30)).await;
    let mut idle = idle;
    read_until_closed(&mut idle, Duration::from_secs(30)).await;

    // A kept-alive connection that goes quiet after its first request is cut the same way.
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut kept, Duration::from_secs(30)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

    // An honest client is served as ever.
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn connections_over_the_cap_are_refused(backend: Backend) {
    const CAP: usize = 4;
    let app = TestChat::spawn_with(backend, |config| config.http.max_connections = CAP).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // The cap's worth of connections that send nothing, accepted in order before the next one.
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut over = TcpStream::connect(&addr).await.unwrap();
    let answer = read_until_closed(&mut over, Duration::from_secs(30)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many open connections"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 5"), "{answer}");

    // One held connection goes away: its slot serves an honest request again (the server frees
    // the slot once it sees the close, so a request racing it may still be refused).
    drop(held.pop());
    let mut served = false;
    for _ in 0..200 {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        if client.get(app.url("/health")).send().await.is_ok_and(|r| r.status() == 200) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a freed slot never served a request");
    drop(held);
}
