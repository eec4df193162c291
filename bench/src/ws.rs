use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(url: &str) -> Socket {
    try_connect(url).await.expect("the WebSocket connects")
}

pub async fn try_connect(url: &str) -> Option<Socket> {
    tokio_tungstenite::connect_async(url).await.ok().map(|(socket, _)| socket)
}

pub async fn send(socket: &mut Socket, action: &str, data: Value) {
    socket.send(Message::text(json!({"action": action, "data": data}).to_string())).await.unwrap();
}

pub async fn next(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(60), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// The next text frame, or `None` after `limit` without one.
pub async fn next_within(socket: &mut Socket, limit: std::time::Duration) -> Option<Value> {
    tokio::time::timeout(limit, next(socket)).await.ok()
}
