//! Cluster mode: the replicas of the chat service share, through Redis, what one process keeps
//! in memory otherwise (`docs/deploy.md`, "Cluster"):
//!
//! - every event of a user reaches that user's sockets on every replica: each replica publishes
//!   on the user's channel (`oc:u:{user}`) and subscribes to the channels of the users it has
//!   sockets for; deltas travel one by one (never the whole reply per token), and an event over
//!   [`MAX_EVENT_BYTES`] travels as a key to read, so no event can swell Redis's buffer of a
//!   subscriber;
//! - each generation's events are also appended to its log (a stream, `oc:g:{id}`, kept a
//!   while after the end), from which any replica resumes a socket by `after_seq`; its owner
//!   numbers the deltas, so every replica agrees on them;
//! - a stop reaches the owner of the generation on `oc:stop`;
//! - per-user reply caps and write rates are counted in Redis, atomically ([`limits`]);
//! - the replies of a conversation take turns across replicas ([`turns`]).
//!
//! Redis may go away. Writes then fail and are dropped ([`writer`]: noted, so the owner rewrites
//! the logs of its generations that ran meanwhile and tells the users who missed other events
//! to catch up once Redis is back), each replica serves its own sockets, `/health` says
//! `degraded`, and the [`supervisor`] reconnects and heals.

pub mod limits;
pub mod locks;
mod supervisor;
mod turns;
mod writer;

pub(crate) use supervisor::REPAIR_FLUSH;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use api_types::chat::ServerEvent;
use redis::aio::ConnectionManager;
use redis::{Cmd, RedisResult, Value};
use tokio::sync::mpsc;
use writer::{Catchup, Writes};

use crate::generation::{Generations, Hub, Snapshot};

/// The writes a new [`Cluster`] queues, for its writer task ([`Cluster::start`]).
pub struct Queued(mpsc::Receiver<writer::Write>);

/// Largest event published as is; larger ones are stored under a key for a minute and the key
/// is published instead.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// How long a finished generation's log stays readable.
const KEEP_FINISHED_LOG: Duration = Duration::from_secs(120);
/// How long a running generation's log and index entries live without being rewritten (a
/// reply streams for `chat.max_reply_secs`, 10 minutes by default, after its queue).
const KEEP_RUNNING_LOG: Duration = Duration::from_secs(3600);
/// Most generations of one conversation a resume looks at (newest first).
const RESUME_GENERATIONS: isize = 16;
/// The supervisor's pace, and how long a missing heartbeat is tolerated.
const TICK: Duration = Duration::from_secs(1);
const HEARTBEAT_LOST_AFTER: Duration = Duration::from_secs(4);
/// How long a shutdown waits for queued writes to reach Redis.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);

/// Where a replica asks the one running a generation to stop it (payload: the generation's id)
/// or to pass on the owner's answer about a tool call (`{generation}\n{call}\n{1|0}`).
const STOP_CHANNEL: &str = "oc:stop";
/// Where a replica that lost too many users' events asks every replica to have all its
/// sockets catch up.
const RESYNC_CHANNEL: &str = "oc:resync";

fn user_channel(owner: &str) -> String {
    format!("oc:u:{owner}")
}
/// An answer to a waiting call reads the generation's log from its end, this many events a page,
/// at most this many pages.
const ANSWER_PAGE: usize = 64;
const ANSWER_PAGES: usize = 64;

/// What one logged event (newest first) says of whether `call_id` waits for an answer: `None`
/// when it is not about that call nor the end of the reply.
fn answers_call(fields: &[String], call_id: &str) -> Option<bool> {
    let [name, json] = fields else { return None };
    if name != "e" || !(json.contains(call_id) || json.contains("\"generation_done\"")) {
        return None;
    }
    match serde_json::from_str::<ServerEvent>(json) {
        Ok(ServerEvent::ToolCallStarted { call, .. }) if call.id == call_id => {
            Some(call.approval == Some(api_types::mcp::ToolApproval::Pending))
        }
        Ok(ServerEvent::ToolCallUpdated { call, .. } | ServerEvent::ToolCallDone { call, .. })
            if call.id == call_id =>
        {
            Some(false)
        }
        Ok(ServerEvent::GenerationDone { .. }) => Some(false),
        _ => None,
    }
}

fn log_key(generation_id: &str) -> String {
    format!("oc:g:{generation_id}")
}
fn meta_key(generation_id: &str) -> String {
    format!("oc:gm:{generation_id}")
}
fn conversation_key(conversation_id: &str) -> String {
    format!("oc:c:{conversation_id}")
}

/// What a generation's log records about it besides its events.
pub struct GenerationMeta<'a> {
    pub id: &'a str,
    pub owner_id: &'a str,
    pub conversation_id: &'a str,
    pub message_id: &'a str,
    pub started_ms: i64,
}

/// This replica's link to the others.
pub struct Cluster {
    /// Names this replica's messages, so it skips its own.
    replica: String,
    client: redis::Client,
    hub: Arc<Hub>,
    generations: Mutex<Weak<Generations>>,
    commands: Mutex<Option<ConnectionManager>>,
    /// Whether the subscription is known to be alive (heartbeats arrive).
    healthy: AtomicBool,
    /// Set by the current subscription's receiver when it broke or overflowed.
    lost: Mutex<Arc<AtomicBool>>,
    last_heartbeat: Mutex<Instant>,
    subscribed: Mutex<HashSet<String>>,
    subscriptions: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// The task handing the current subscription's messages over (stopped with it).
    receiver: Mutex<Option<tokio::task::AbortHandle>>,
    writes: Writes,
    /// A repair of lost writes is under way ([`supervisor`]).
    repairing: AtomicBool,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Cluster {
    /// A cluster link to `url`; nothing connects until [`start`](Self::start).
    pub fn new(url: &str, hub: Arc<Hub>) -> RedisResult<(Arc<Self>, Queued)> {
        let info = redis::IntoConnectionInfo::into_connection_info(url)?;
        let settings = info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))?;
        let (writes, queued) = Writes::new();
        let cluster = Arc::new(Self {
            replica: common::ids::random_id(12),
            client,
            hub,
            generations: Mutex::new(Weak::new()),
            commands: Mutex::new(None),
            healthy: AtomicBool::new(false),
            lost: Mutex::new(Arc::new(AtomicBool::new(true))),
            last_heartbeat: Mutex::new(Instant::now()),
            subscribed: Mutex::new(HashSet::new()),
            subscriptions: tokio::sync::Mutex::new(None),
            receiver: Mutex::new(None),
            writes,
            repairing: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        });
        Ok((cluster, Queued(queued)))
    }

    /// Starts the writer and the supervisor (which connects, subscribes and heals).
    pub fn start(self: &Arc<Self>, generations: &Arc<Generations>, queued: Queued) {
        *self.generations.lock().expect("cluster lock poisoned") = Arc::downgrade(generations);
        let writer = tokio::spawn(writer::write_loop(Arc::downgrade(self), queued.0));
        let supervisor = tokio::spawn(supervisor::supervise(Arc::downgrade(self)));
        let mut tasks = self.tasks.lock().expect("cluster lock poisoned");
        tasks.push(writer.abort_handle());
        tasks.push(supervisor.abort_handle());
    }

    /// Sends what is queued (the last events of the replies a shutdown interrupted, so
    /// watchers on other replicas see them end), waiting at most `SHUTDOWN_FLUSH`, then stops.
    pub async fn shutdown(&self) {
        if self.is_healthy() {
            self.writes.flush(SHUTDOWN_FLUSH).await;
        }
        for task in self.tasks.lock().expect("cluster lock poisoned").drain(..) {
            task.abort();
        }
    }

    /// Whether this replica currently shares events with the others.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn commands(&self) -> Option<ConnectionManager> {
        if !self.is_healthy() {
            return None;
        }
        self.commands.lock().expect("cluster lock poisoned").clone()
    }

    /// Queues small bookkeeping commands (counters, queues: their loss heals by expiry).
    fn enqueue(&self, commands: Vec<Cmd>) {
        self.writes.enqueue(commands, writer::SMALL, Catchup::Logged);
    }

    /// Whether writes of this replica may be missing from Redis (it is away, or was, and the
    /// logs are not rewritten yet).
    pub fn needs_rewrite(&self) -> bool {
        !self.is_healthy() || self.writes.is_dirty() || self.repairing.load(Ordering::Relaxed)
    }

    /// Notes that `owner`'s sockets elsewhere missed events (a reply this replica could not
    /// keep for a rewrite): they are told to catch up at the next repair.
    pub fn missed(&self, owner: &str) {
        self.writes.lost(Catchup::User(owner.to_owned()));
    }

    /// Waits (at most `wait`) for the queued writes; true when they all reached Redis.
    pub async fn flushed(&self, wait: Duration) -> bool {
        self.writes.flush(wait).await && !self.writes.is_dirty()
    }

    /// The message published for `event` (already encoded as `json`) on a user's channel.
    fn publish_commands(&self, owner: &str, json: &str, commands: &mut Vec<Cmd>) {
        let channel = user_channel(owner);
        if json.len() <= MAX_EVENT_BYTES {
            commands
                .push(redis::cmd("PUBLISH").arg(&channel).arg(format!("{}\n{json}", self.replica)).clone());
        } else {
            let key = format!("oc:big:{}", common::ids::random_id(16));
            commands.push(redis::cmd("SET").arg(&key).arg(json).arg("PX").arg(60_000).clone());
            commands
                .push(redis::cmd("PUBLISH").arg(&channel).arg(format!("{}\n@{key}", self.replica)).clone());
        }
    }

    /// Publishes a user's event to the other replicas.
    pub fn publish(&self, owner: &str, event: &ServerEvent) {
        let json = encode(event);
        let mut commands = Vec::with_capacity(2);
        self.publish_commands(owner, &json, &mut commands);
        self.writes.enqueue(commands, json.len() + writer::SMALL, Catchup::User(owner.to_owned()));
    }

    /// Appends a generation's event to its log and publishes it; `started` registers the
    /// generation (first event), a `generation_done` lets its log expire.
    pub fn record(&self, meta: &GenerationMeta<'_>, event: &ServerEvent) {
        let json = encode(event);
        let mut commands = Vec::with_capacity(6);
        if matches!(event, ServerEvent::GenerationStarted { .. }) {
            self.register_commands(meta, &mut commands);
        }
        commands.push(redis::cmd("XADD").arg(log_key(meta.id)).arg("*").arg("e").arg(&json).clone());
        if matches!(event, ServerEvent::GenerationDone { .. }) {
            expire_commands(meta.id, KEEP_FINISHED_LOG, &mut commands);
        }
        self.publish_commands(meta.owner_id, &json, &mut commands);
        self.writes.enqueue(commands, json.len() * 2 + writer::SMALL, Catchup::Logged);
    }

    fn register_commands(&self, meta: &GenerationMeta<'_>, commands: &mut Vec<Cmd>) {
        let key = meta_key(meta.id);
        commands.push(
            redis::cmd("HSET")
                .arg(&key)
                .arg("o")
                .arg(meta.owner_id)
                .arg("c")
                .arg(meta.conversation_id)
                .arg("m")
                .arg(meta.message_id)
                .arg("t")
                .arg(meta.started_ms)
                .clone(),
        );
        let conversation = conversation_key(meta.conversation_id);
        commands.push(redis::cmd("ZADD").arg(&conversation).arg(meta.started_ms).arg(meta.id).clone());
        let horizon = meta.started_ms - KEEP_RUNNING_LOG.as_millis() as i64;
        commands.push(redis::cmd("ZREMRANGEBYSCORE").arg(&conversation).arg("-inf").arg(horizon).clone());
        commands
            .push(redis::cmd("PEXPIRE").arg(&conversation).arg(KEEP_RUNNING_LOG.as_millis() as u64).clone());
        expire_commands(meta.id, KEEP_RUNNING_LOG, commands);
    }

    /// Writes a generation's whole log again (after writes were lost) and publishes its last
    /// event, so watchers elsewhere notice what they missed. A long log goes in several writes
    /// (in order: the queue keeps it), each a pipeline of its own.
    pub fn rewrite(&self, meta: &GenerationMeta<'_>, events: &[ServerEvent]) {
        const PER_WRITE: usize = 1024;
        let mut commands = vec![redis::cmd("DEL").arg(log_key(meta.id)).clone()];
        self.register_commands(meta, &mut commands);
        let mut bytes = writer::SMALL;
        let mut last = None;
        for event in events {
            let json = encode(event);
            bytes += json.len() + writer::SMALL;
            commands.push(redis::cmd("XADD").arg(log_key(meta.id)).arg("*").arg("e").arg(&json).clone());
            last = Some(json);
            if commands.len() >= PER_WRITE {
                self.writes.enqueue(
                    std::mem::take(&mut commands),
                    std::mem::take(&mut bytes),
                    Catchup::Logged,
                );
            }
        }
        if events.last().is_some_and(|e| matches!(e, ServerEvent::GenerationDone { .. })) {
            expire_commands(meta.id, KEEP_FINISHED_LOG, &mut commands);
        }
        if let Some(json) = last {
            self.publish_commands(meta.owner_id, &json, &mut commands);
        }
        self.writes.enqueue(commands, bytes, Catchup::Logged);
    }

    /// The generations of a conversation other replicas logged (newest [`RESUME_GENERATIONS`]),
    /// as far as their logs go without a gap.
    pub async fn snapshots(&self, conversation_id: &str, owner: &str) -> Vec<Snapshot> {
        let Some(mut connection) = self.commands() else { return Vec::new() };
        let read = async {
            let ids: Vec<String> = redis::cmd("ZREVRANGE")
                .arg(conversation_key(conversation_id))
                .arg(0)
                .arg(RESUME_GENERATIONS - 1)
                .query_async(&mut connection)
                .await?;
            if ids.is_empty() {
                return Ok((ids, Vec::new()));
            }
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HGETALL").arg(meta_key(id)).cmd("XRANGE").arg(log_key(id)).arg("-").arg("+");
            }
            let replies: Vec<Value> = pipe.query_async(&mut connection).await?;
            RedisResult::Ok((ids, replies))
        };
        let (ids, replies) = match tokio::time::timeout(Duration::from_secs(2), read).await {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cluster bus: cannot read generation logs");
                return Vec::new();
            }
            Err(_) => return Vec::new(),
        };
        let mut found = Vec::new();
        for (id, pair) in ids.iter().zip(replies.chunks(2)) {
            let meta: HashMap<String, String> = redis::from_redis_value_ref(&pair[0]).unwrap_or_default();
            if meta.get("o").map(String::as_str) != Some(owner) {
                continue;
            }
            let entries: Vec<(String, Vec<String>)> =
                redis::from_redis_value_ref(&pair[1]).unwrap_or_default();
            let events = entries.iter().filter_map(|(_, fields)| match fields.as_slice() {
                [name, json] if name == "e" => serde_json::from_str::<ServerEvent>(json).ok(),
                _ => None,
            });
            let started_ms = meta.get("t").and_then(|t| t.parse().ok()).unwrap_or_default();
            if let Some(snapshot) = Snapshot::from_log(id, conversation_id, started_ms, events) {
                found.push(snapshot);
            }
        }
        found
    }

    /// Asks the replica running a generation of `owner` to stop it; false when no replica
    /// logged such a generation (or Redis cannot be reached).
    pub async fn stop(&self, generation_id: &str, owner: &str) -> bool {
        self.tell(generation_id, owner, generation_id.to_owned()).await
    }

    /// Passes the owner's answer about a tool call waiting for approval to the replica running
    /// the generation; false when its log shows no such call of `owner` waiting.
    pub async fn answer(&self, generation_id: &str, owner: &str, call_id: &str, approved: bool) -> bool {
        let Some(mut connection) = self.commands() else { return false };
        let read = async {
            let logged_owner: Option<String> =
                redis::cmd("HGET").arg(meta_key(generation_id)).arg("o").query_async(&mut connection).await?;
            if logged_owner.as_deref() != Some(owner) {
                return RedisResult::Ok(false);
            }
            // The call waits when the newest event about it started it as `pending` and the
            // reply has not ended: read the log from its end, a page at a time, up to that.
            let mut end = "+".to_owned();
            for _ in 0..ANSWER_PAGES {
                let page: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
                    .arg(log_key(generation_id))
                    .arg(&end)
                    .arg("-")
                    .arg("COUNT")
                    .arg(ANSWER_PAGE)
                    .query_async(&mut connection)
                    .await?;
                for (_, fields) in &page {
                    if let Some(waiting) = answers_call(fields, call_id) {
                        return Ok(waiting);
                    }
                }
                match page.last() {
                    Some((id, _)) if page.len() == ANSWER_PAGE => end = format!("({id}"),
                    _ => break,
                }
            }
            Ok(false)
        };
        let Ok(Ok(waiting)) = tokio::time::timeout(Duration::from_secs(2), read).await else {
            return false;
        };
        let message = format!("{generation_id}\n{call_id}\n{}", u8::from(approved));
        waiting && self.tell(generation_id, owner, message).await
    }

    async fn tell(&self, generation_id: &str, owner: &str, message: String) -> bool {
        let Some(mut connection) = self.commands() else { return false };
        let ask = async {
            let logged_owner: Option<String> =
                redis::cmd("HGET").arg(meta_key(generation_id)).arg("o").query_async(&mut connection).await?;
            if logged_owner.as_deref() != Some(owner) {
                return RedisResult::Ok(false);
            }
            let () =
                redis::cmd("PUBLISH").arg(STOP_CHANNEL).arg(&message).query_async(&mut connection).await?;
            Ok(true)
        };
        matches!(tokio::time::timeout(Duration::from_secs(2), ask).await, Ok(Ok(true)))
    }
}

fn expire_commands(generation_id: &str, keep: Duration, commands: &mut Vec<Cmd>) {
    let millis = keep.as_millis() as u64;
    commands.push(redis::cmd("PEXPIRE").arg(log_key(generation_id)).arg(millis).clone());
    commands.push(redis::cmd("PEXPIRE").arg(meta_key(generation_id)).arg(millis).clone());
}

fn encode(event: &ServerEvent) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into())
}
