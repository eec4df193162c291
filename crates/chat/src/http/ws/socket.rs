//! A socket's writes with a deadline, the frames sent on it, and the caps on open sockets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::chat::ServerEvent;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, close_code};

pub(super) fn encode(event: &ServerEvent) -> Utf8Bytes {
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into()).into()
}

pub(super) async fn send(socket: &mut Socket, event: &ServerEvent) {
    socket.send(WsMessage::Text(encode(event))).await;
}

pub(super) async fn close(socket: &mut Socket, code: u16, reason: &'static str) {
    socket.send(WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

/// Tells a socket over a cap why, in an `error` frame and the close reason.
pub(super) async fn refuse(socket: &mut Socket, detail: &str, reason: &'static str) {
    send(socket, &ServerEvent::Error { code: "too_many_sockets".into(), detail: detail.into() }).await;
    close(socket, close_code::POLICY, reason).await;
}

/// A client's socket whose writes have a deadline: a client that does not take a frame within
/// `chat.ws_send_timeout_secs` (it stopped reading, or its network did) is dropped, and the
/// session ends; the client resumes with `after_seq` when it reconnects.
pub(super) struct Socket {
    pub(super) ws: WebSocket,
    deadline: Duration,
    pub(super) dead: bool,
}

impl Socket {
    pub(super) fn new(ws: WebSocket, deadline_secs: u64) -> Self {
        Self { ws, deadline: Duration::from_secs(deadline_secs), dead: false }
    }

    /// Sends a frame; false (and the socket is dead) when it failed or missed the deadline.
    pub(super) async fn send(&mut self, message: WsMessage) -> bool {
        if self.dead {
            return false;
        }
        let sent = tokio::time::timeout(self.deadline, self.ws.send(message)).await;
        self.dead = !matches!(sent, Ok(Ok(())));
        !self.dead
    }
}

/// What a socket cap counts by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SlotKey {
    User(String),
    Address(IpAddr),
}

/// Open sockets per user and per address.
#[derive(Default)]
pub struct SocketCounts {
    open: Mutex<HashMap<SlotKey, usize>>,
}

impl SocketCounts {
    /// Sockets open now (each holds a place under its client's address from the upgrade on).
    pub fn total(&self) -> usize {
        let open = self.open.lock().expect("socket counts poisoned");
        open.iter().filter(|(key, _)| matches!(key, SlotKey::Address(_))).map(|(_, count)| count).sum()
    }

    /// A place for one more socket of `key`, unless it has `cap` already (0: no cap).
    pub fn take(self: &Arc<Self>, key: SlotKey, cap: usize) -> Option<SocketSlot> {
        let mut open = self.open.lock().expect("socket counts poisoned");
        let count = open.entry(key.clone()).or_default();
        if cap > 0 && *count >= cap {
            if *count == 0 {
                open.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(SocketSlot { counts: self.clone(), key })
    }
}

/// One socket's place under a cap; given back when dropped.
pub struct SocketSlot {
    counts: Arc<SocketCounts>,
    key: SlotKey,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().expect("socket counts poisoned");
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}
