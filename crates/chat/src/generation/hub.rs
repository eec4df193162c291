//! Per-user fan-out: every socket of a user holds one receiver; events for that user are
//! published once and reach all of them (other tabs, other devices).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use api_types::chat::ServerEvent;
use tokio::sync::broadcast;

/// Events a socket may fall behind by before it must re-read the generation state.
const CAPACITY: usize = 1024;

pub type Event = Arc<ServerEvent>;

#[derive(Default)]
pub struct Hub {
    users: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl Hub {
    pub fn subscribe(&self, owner_id: &str) -> broadcast::Receiver<Event> {
        let mut users = self.users.lock().expect("hub lock poisoned");
        users.entry(owner_id.to_owned()).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    pub fn publish(&self, owner_id: &str, event: ServerEvent) {
        let mut users = self.users.lock().expect("hub lock poisoned");
        if let Some(sender) = users.get(owner_id) {
            if sender.receiver_count() == 0 {
                users.remove(owner_id);
            } else {
                let _ = sender.send(Arc::new(event));
            }
        }
    }
}
