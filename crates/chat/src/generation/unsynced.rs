//! Ended generations the cluster may lack (Redis was away when they ended): kept, and their
//! logs written again once Redis is back, so watchers on other replicas see them end.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Generation, Generations};

/// Bytes of text of the ended generations kept for a rewrite of their logs (Redis was away
/// when they ended).
const MAX_UNSYNCED_BYTES: usize = 64 << 20;

#[derive(Default)]
pub(super) struct Unsynced {
    generations: HashMap<String, Arc<Generation>>,
    /// Their texts' bytes.
    bytes: usize,
    warned: bool,
}

impl Generations {
    /// Drops a finished generation, unless the cluster may still lack its end.
    pub(super) fn forget(&self, id: &str) {
        let Some(generation) = self.running.lock().expect("generations lock poisoned").remove(id) else {
            return;
        };
        let Some(cluster) = self.bus.cluster().filter(|c| c.needs_rewrite()) else { return };
        let mut unsynced = self.unsynced.lock().expect("generations lock poisoned");
        let bytes = generation.size();
        if unsynced.bytes + bytes <= MAX_UNSYNCED_BYTES {
            unsynced.bytes += bytes;
            unsynced.generations.insert(generation.id.clone(), generation);
        } else {
            // Too much to keep: the owner's sockets elsewhere are told to read it again.
            cluster.missed(&generation.owner_id);
            if !unsynced.warned {
                unsynced.warned = true;
                tracing::warn!("too many replies ended while Redis was away to keep them all for a rewrite");
            }
        }
    }

    /// Writes again the logs of this replica's generations, running or ended since writes
    /// were lost, a few at a time, each lot flushed before the next; forgets the ended ones
    /// once their rewrite reached Redis. False when that could not be confirmed.
    pub async fn rewrite_logs(&self, cluster: &crate::cluster::Cluster) -> bool {
        const LOT: usize = 64;
        let running: Vec<_> =
            self.running.lock().expect("generations lock poisoned").values().cloned().collect();
        let ended: Vec<_> =
            self.unsynced.lock().expect("generations lock poisoned").generations.values().cloned().collect();
        let all: Vec<_> = running.into_iter().chain(ended).collect();
        for lot in all.chunks(LOT) {
            for g in lot {
                g.rewrite_log(&self.bus);
            }
            if !cluster.flushed(crate::cluster::REPAIR_FLUSH).await {
                return false;
            }
            let mut unsynced = self.unsynced.lock().expect("generations lock poisoned");
            for g in lot {
                if unsynced.generations.remove(&g.id).is_some() {
                    unsynced.bytes -= g.size();
                }
            }
            if unsynced.generations.is_empty() {
                unsynced.warned = false;
            }
        }
        true
    }
}
