//! The egress policy's HTTP client over real sockets, loopback only: a name that resolves to
//! loopback and a redirect to one are refused before anything connects (each target counts
//! the connections it accepts); what an administrator allows goes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chat::tools::egress::Egress;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback HTTP server answering every request with `response`; counts connections.
async fn target(response: String) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (port, accepted)
}

fn ok() -> String {
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
}

fn redirect(to: &str) -> String {
    format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
    let (port, accepted) = target(ok()).await;
    let client = Egress::default().client(Duration::from_secs(5));
    let error = client.get(format!("http://localhost:{port}/mcp")).send().await.unwrap_err();
    let chain = error_chain(&error);
    assert!(chain.contains("internal address"), "{chain}");
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "nothing connected");
}

#[tokio::test]
async fn a_redirect_to_an_internal_address_is_refused() {
    let (inside, reached) = target(ok()).await;
    for to in [format!("http://localhost:{inside}/secret"), format!("http://127.0.0.2:{inside}/secret")] {
        let (allowed, accepted) = target(redirect(&to)).await;
        // The administrator allows 127.0.0.1:<allowed> only.
        let client = Egress::new([format!("127.0.0.1:{allowed}")]).client(Duration::from_secs(5));
        let error = client.get(format!("http://127.0.0.1:{allowed}/mcp")).send().await.unwrap_err();
        let chain = error_chain(&error);
        assert!(chain.contains("internal address") || chain.contains("https://"), "{chain}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "the allowed server was asked");
    }
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the redirect's target never was");
}

#[tokio::test]
async fn what_an_administrator_allows_goes_through() {
    let (port, accepted) = target(ok()).await;
    let policy = Egress::new(["localhost".to_owned()]);
    let url = policy.check(&format!("http://localhost:{port}/mcp")).expect("an allowed host");
    let response = policy.client(Duration::from_secs(5)).get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
