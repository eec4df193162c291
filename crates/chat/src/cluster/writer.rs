//! This replica's writes to Redis: queued (bounded by count and by bytes), sent in pipelines in
//! order, and — while Redis cannot take them — dropped and remembered. The logs they belonged
//! to are rewritten once Redis is back, and the users whose other events were lost (a title, a
//! deletion, a message posted here) are told to catch up: their sockets elsewhere read again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use redis::Cmd;
use tokio::sync::{mpsc, oneshot};

use super::Cluster;

/// Writes waiting for Redis before more are dropped.
const QUEUE: usize = 100_000;
/// Bytes (about) of writes waiting for Redis before more are dropped.
const QUEUE_BYTES: usize = 64 << 20;
/// Users remembered as having missed events; past that, every user is told to catch up.
const MISSED_USERS: usize = 100_000;
/// Writes taken from the queue at once.
const BATCH: usize = 512;
/// Most commands in one pipeline (a pipeline answers within the response timeout, 2 s).
const PIPELINE: usize = 4096;
/// What a command without a payload of its own weighs in the queue.
pub(super) const SMALL: usize = 128;

/// Who must catch up when a write is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Catchup {
    /// Nobody: a generation's log and its live events (its owner rewrites them).
    Logged,
    User(String),
    /// Every user (a request that every replica's sockets catch up).
    Everyone,
}

/// What the writer task takes: commands to pipeline, or a request to say when everything
/// queued before it was sent.
pub(super) enum Write {
    Commands { commands: Vec<Cmd>, bytes: usize, catchup: Catchup },
    Flush(oneshot::Sender<()>),
}

/// Users who missed events while Redis was away.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Missed {
    pub users: HashSet<String>,
    /// Too many to name: everyone.
    pub everyone: bool,
}

pub(super) struct Writes {
    sender: mpsc::Sender<Write>,
    bytes: AtomicUsize,
    /// Set when writes were dropped: the logs of this replica's generations need a rewrite.
    dirty: AtomicBool,
    missed: Mutex<Missed>,
}

impl Writes {
    pub fn new() -> (Self, mpsc::Receiver<Write>) {
        let (sender, queued) = mpsc::channel(QUEUE);
        let writes = Self {
            sender,
            bytes: AtomicUsize::new(0),
            dirty: AtomicBool::new(false),
            missed: Mutex::default(),
        };
        (writes, queued)
    }

    /// Queues `commands` (about `bytes` long), or drops them when the queue is full.
    pub fn enqueue(&self, commands: Vec<Cmd>, bytes: usize, catchup: Catchup) {
        let before = self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if before + bytes > QUEUE_BYTES {
            self.bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.lost(catchup);
            return;
        }
        if let Err(refused) = self.sender.try_send(Write::Commands { commands, bytes, catchup }) {
            self.bytes.fetch_sub(bytes, Ordering::Relaxed);
            if let Write::Commands { catchup, .. } = refused.into_inner() {
                self.lost(catchup);
            }
        }
    }

    /// Notes a write that did not reach Redis (who missed it first, then that a repair is
    /// due: a repair that sees the mark finds the user).
    pub fn lost(&self, catchup: Catchup) {
        {
            let mut missed = self.missed.lock().expect("writes lock poisoned");
            match catchup {
                Catchup::Logged => {}
                _ if missed.everyone => {}
                Catchup::Everyone => *missed = Missed { users: HashSet::new(), everyone: true },
                Catchup::User(_) if missed.users.len() >= MISSED_USERS => {
                    *missed = Missed { users: HashSet::new(), everyone: true };
                }
                Catchup::User(user) => {
                    missed.users.insert(user);
                }
            }
        }
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Marks every log of this replica for a rewrite (Redis was away).
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }

    /// Whether writes were lost since the last call.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::Relaxed)
    }

    /// The users who missed events since the last call.
    pub fn take_missed(&self) -> Missed {
        std::mem::take(&mut *self.missed.lock().expect("writes lock poisoned"))
    }

    /// Waits (at most `wait`) until everything queued so far was sent or dropped; false when
    /// it could not be told.
    pub async fn flush(&self, wait: Duration) -> bool {
        let (flushed, written) = oneshot::channel();
        if self.sender.try_send(Write::Flush(flushed)).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(wait, written).await, Ok(Ok(())))
    }
}

/// Sends queued writes to Redis in pipelines, in order; drops them (and notes what they
/// leave to repair) while Redis cannot take them.
pub(super) async fn write_loop(cluster: Weak<Cluster>, mut queued: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let Some(cluster) = cluster.upgrade() else { return };
        let mut pipeline = Pipeline::default();
        for write in batch.drain(..) {
            match write {
                Write::Commands { commands, bytes, catchup } => {
                    if pipeline.commands + commands.len() > PIPELINE {
                        pipeline.send(&cluster).await;
                    }
                    pipeline.add(commands, bytes, catchup);
                }
                Write::Flush(done) => {
                    pipeline.send(&cluster).await;
                    let _ = done.send(());
                }
            }
        }
        pipeline.send(&cluster).await;
    }
}

/// Commands gathered for one round trip, with what their loss would leave to repair.
#[derive(Default)]
struct Pipeline {
    pipe: redis::Pipeline,
    commands: usize,
    bytes: usize,
    catchups: Vec<Catchup>,
}

impl Pipeline {
    fn add(&mut self, commands: Vec<Cmd>, bytes: usize, catchup: Catchup) {
        self.commands += commands.len();
        self.bytes += bytes;
        for command in commands {
            self.pipe.add_command(command).ignore();
        }
        self.catchups.push(catchup);
    }

    /// Sends what was gathered (if anything) and starts afresh.
    async fn send(&mut self, cluster: &Cluster) {
        let Self { pipe, commands, bytes, catchups } = std::mem::take(self);
        if commands == 0 {
            return;
        }
        let written = match cluster.commands() {
            Some(mut connection) => pipe.query_async::<()>(&mut connection).await.is_ok(),
            None => false,
        };
        let writes = &cluster.writes;
        writes.bytes.fetch_sub(bytes, Ordering::Relaxed);
        if !written {
            writes.mark_dirty();
            for catchup in catchups {
                writes.lost(catchup);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_writes_and_remembers_who_missed_them() {
        let (writes, mut queued) = Writes::new();
        writes.enqueue(vec![redis::cmd("PING")], QUEUE_BYTES - 10, Catchup::User("a".into()));
        assert!(!writes.is_dirty());
        // Over the byte bound: dropped, and the user is remembered.
        writes.enqueue(vec![redis::cmd("PING")], 20, Catchup::User("b".into()));
        writes.enqueue(vec![redis::cmd("PING")], 20, Catchup::Logged);
        assert!(writes.take_dirty());
        assert!(!writes.take_dirty(), "taken once");
        let missed = writes.take_missed();
        assert_eq!(missed.users, HashSet::from(["b".to_owned()]));
        assert!(!missed.everyone);
        assert_eq!(writes.take_missed(), Missed::default());
        assert!(matches!(queued.try_recv(), Ok(Write::Commands { bytes, .. }) if bytes == QUEUE_BYTES - 10));
        assert!(queued.try_recv().is_err(), "nothing else was queued");
    }

    #[test]
    fn too_many_users_who_missed_events_become_everyone() {
        let (writes, _queued) = Writes::new();
        for i in 0..=MISSED_USERS {
            writes.lost(Catchup::User(i.to_string()));
        }
        let missed = writes.take_missed();
        assert!(missed.everyone && missed.users.is_empty());
        writes.lost(Catchup::Everyone);
        writes.lost(Catchup::User("late".into()));
        assert_eq!(writes.take_missed(), Missed { users: HashSet::new(), everyone: true });
    }
}
