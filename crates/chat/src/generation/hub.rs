//! Per-user fan-out: every socket of a user holds one receiver; events for that user are
//! published once and reach all of them (other tabs, other devices).
//!
//! Each user's recent events are kept in a ring bounded by count and by bytes, so a user's
//! fan-out holds at most [`MAX_BYTES`] however large the messages: a receiver that falls behind
//! the ring gets `Lagged` and catches up from the generations' own records (deltas) and REST.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use api_types::chat::ServerEvent;
use tokio::sync::Notify;
pub use tokio::sync::broadcast::error::RecvError;

/// Events a socket may fall behind by before it must re-read the generation state.
const CAPACITY: usize = 1024;
/// Bytes (roughly, as sent) of one user's kept events.
pub const MAX_BYTES: usize = 1024 * 1024;

pub type Event = Arc<ServerEvent>;

#[derive(Default)]
pub struct Hub {
    users: Mutex<HashMap<String, Arc<Channel>>>,
}

#[derive(Default)]
struct Channel {
    ring: Mutex<Ring>,
    published: Notify,
}

#[derive(Default)]
struct Ring {
    /// Kept events with their sizes; the first has number `first`.
    events: VecDeque<(Event, usize)>,
    first: u64,
    bytes: usize,
    receivers: usize,
    /// Bumped when events may have been lost upstream (the cluster bus lost its subscription):
    /// every receiver then catches up once, as after a lag.
    epoch: u64,
}

impl Ring {
    fn end(&self) -> u64 {
        self.first + self.events.len() as u64
    }
}

/// One socket's (or SSE stream's) view of its user's events.
pub struct Receiver {
    channel: Arc<Channel>,
    next: u64,
    epoch: u64,
}

impl Receiver {
    /// The next event; `Lagged(n)` when `n` events were dropped from the ring before this
    /// receiver read them (it then continues with the oldest kept one), `Lagged(0)` once after
    /// [`Hub::resync_all`].
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        loop {
            let published = self.channel.published.notified();
            let mut published = std::pin::pin!(published);
            published.as_mut().enable();
            {
                let ring = self.channel.ring.lock().expect("hub lock poisoned");
                if self.epoch != ring.epoch {
                    self.epoch = ring.epoch;
                    return Err(RecvError::Lagged(0));
                }
                if self.next < ring.first {
                    let missed = ring.first - self.next;
                    self.next = ring.first;
                    return Err(RecvError::Lagged(missed));
                }
                if self.next < ring.end() {
                    let (event, _) = &ring.events[(self.next - ring.first) as usize];
                    self.next += 1;
                    return Ok(event.clone());
                }
            }
            published.await;
        }
    }
}

impl Drop for Receiver {
    /// The last receiver of a user gone, nobody can read the kept events any more (a new
    /// receiver starts at the end): free them now rather than at the user's next event, which
    /// may never come.
    fn drop(&mut self) {
        let mut ring = self.channel.ring.lock().expect("hub lock poisoned");
        ring.receivers -= 1;
        if ring.receivers == 0 {
            ring.first = ring.end();
            ring.events = VecDeque::new();
            ring.bytes = 0;
        }
    }
}

impl Hub {
    pub fn subscribe(&self, owner_id: &str) -> Receiver {
        let mut users = self.users.lock().expect("hub lock poisoned");
        let channel = users.entry(owner_id.to_owned()).or_default().clone();
        let (next, epoch) = {
            let mut ring = channel.ring.lock().expect("hub lock poisoned");
            ring.receivers += 1;
            (ring.end(), ring.epoch)
        };
        Receiver { channel, next, epoch }
    }

    /// Users with at least one receiver here.
    pub fn users(&self) -> Vec<String> {
        let users = self.users.lock().expect("hub lock poisoned");
        users
            .iter()
            .filter(|(_, c)| c.ring.lock().expect("hub lock poisoned").receivers > 0)
            .map(|(user, _)| user.clone())
            .collect()
    }

    /// Tells `owner`'s receivers to catch up.
    pub fn resync(&self, owner: &str) {
        let users = self.users.lock().expect("hub lock poisoned");
        if let Some(channel) = users.get(owner) {
            channel.ring.lock().expect("hub lock poisoned").epoch += 1;
            channel.published.notify_waiters();
        }
    }

    /// Tells every receiver to catch up (events from other replicas may have been missed).
    pub fn resync_all(&self) {
        let users = self.users.lock().expect("hub lock poisoned");
        for channel in users.values() {
            channel.ring.lock().expect("hub lock poisoned").epoch += 1;
            channel.published.notify_waiters();
        }
    }

    pub fn publish(&self, owner_id: &str, event: ServerEvent) {
        let mut users = self.users.lock().expect("hub lock poisoned");
        let Some(channel) = users.get(owner_id) else { return };
        let mut ring = channel.ring.lock().expect("hub lock poisoned");
        if ring.receivers == 0 {
            drop(ring);
            users.remove(owner_id);
            return;
        }
        let size = approximate_size(&event);
        ring.bytes += size;
        ring.events.push_back((Arc::new(event), size));
        while ring.events.len() > CAPACITY || (ring.bytes > MAX_BYTES && ring.events.len() > 1) {
            let (_, size) = ring.events.pop_front().expect("not empty");
            ring.bytes -= size;
            ring.first += 1;
        }
        drop(ring);
        channel.published.notify_waiters();
    }

    /// Bytes of events kept for the user that keeps the most.
    pub fn most_kept_bytes(&self) -> usize {
        let users = self.users.lock().expect("hub lock poisoned");
        users.values().map(|c| c.ring.lock().expect("hub lock poisoned").bytes).max().unwrap_or(0)
    }
}

/// About what an event weighs: its texts plus a fixed overhead for ids and framing.
fn approximate_size(event: &ServerEvent) -> usize {
    const OVERHEAD: usize = 256;
    OVERHEAD
        + match event {
            ServerEvent::MessageAccepted { message, .. } => message.content.len(),
            ServerEvent::GenerationDone { message, reason, .. } => {
                message.content.len() + reason.as_ref().map_or(0, String::len)
            }
            ServerEvent::GenerationStarted { prefix, .. } => prefix.len(),
            ServerEvent::Delta { text, .. } => text.len(),
            ServerEvent::ToolCallStarted { call, .. }
            | ServerEvent::ToolCallUpdated { call, .. }
            | ServerEvent::ToolCallDone { call, .. } => {
                call.arguments.len()
                    + call.result.as_ref().map_or(0, String::len)
                    + call.error.as_ref().map_or(0, String::len)
            }
            ServerEvent::ConversationStarted { conversation, .. }
            | ServerEvent::ConversationUpdated { conversation } => {
                conversation.title.len() + conversation.system_prompt.as_ref().map_or(0, String::len)
            }
            ServerEvent::Error { detail, .. } => detail.len(),
            _ => 0,
        }
}

#[cfg(test)]
mod tests {
    use api_types::chat::ServerEvent;

    use super::Hub;

    #[test]
    fn a_user_without_sockets_keeps_no_events() {
        let hub = Hub::default();
        let first = hub.subscribe("u1");
        let second = hub.subscribe("u1");
        for _ in 0..10 {
            hub.publish("u1", ServerEvent::Error { code: "x".into(), detail: "y".repeat(10_000) });
        }
        assert!(hub.most_kept_bytes() > 100_000);
        drop(first);
        assert!(hub.most_kept_bytes() > 100_000, "another socket may still read them");
        drop(second);
        assert_eq!(hub.most_kept_bytes(), 0, "nobody can read them any more");
        // A socket that comes back starts afresh and gets new events.
        let mut again = hub.subscribe("u1");
        hub.publish("u1", ServerEvent::Error { code: "x".into(), detail: "z".into() });
        let event = futures_util::FutureExt::now_or_never(again.recv()).unwrap().unwrap();
        assert!(matches!(&*event, ServerEvent::Error { detail, .. } if detail == "z"));
    }
}
