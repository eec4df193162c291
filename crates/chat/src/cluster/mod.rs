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
//! Redis may go away. Writes then fail and are dropped (marked: the owner rewrites its running
//! generations' logs once Redis is back), each replica serves its own sockets, `/health` says
//! `degraded`, and the supervisor reconnects. A replica proves its subscription alive by
//! receiving its own heartbeat every second; when it stops arriving (Redis restarted, or dropped
//! this subscriber), the replica resubscribes and tells every socket to catch up.

pub mod limits;
mod turns;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use api_types::chat::ServerEvent;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc;

use crate::generation::{Generations, Hub, Snapshot};

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
/// Writes waiting for Redis before more are dropped (and the logs marked for a rewrite).
const WRITE_QUEUE: usize = 100_000;
/// Pub/sub messages received but not yet handled before the subscription counts as lost.
const RECEIVE_QUEUE: usize = 100_000;
/// The supervisor's pace, and how long a missing heartbeat is tolerated.
const TICK: Duration = Duration::from_secs(1);
const HEARTBEAT_LOST_AFTER: Duration = Duration::from_secs(4);
/// Commands in one pipeline.
const BATCH: usize = 512;
/// How long a shutdown waits for queued writes to reach Redis.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);

/// What the writer task takes: commands to pipeline, or a request to say when everything
/// queued before it was sent.
pub enum Write {
    Commands(Vec<Cmd>),
    Flush(tokio::sync::oneshot::Sender<()>),
}
const STOP_CHANNEL: &str = "oc:stop";

fn user_channel(owner: &str) -> String {
    format!("oc:u:{owner}")
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
    /// Set when writes were dropped: the logs of this replica's generations need a rewrite.
    dirty: AtomicBool,
    last_heartbeat: Mutex<Instant>,
    subscribed: Mutex<HashSet<String>>,
    subscriptions: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// The task handing the current subscription's messages over (stopped with it).
    receiver: Mutex<Option<tokio::task::AbortHandle>>,
    writes: mpsc::Sender<Write>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Cluster {
    /// A cluster link to `url`; nothing connects until [`start`](Self::start).
    pub fn new(url: &str, hub: Arc<Hub>) -> RedisResult<(Arc<Self>, mpsc::Receiver<Write>)> {
        let info = redis::IntoConnectionInfo::into_connection_info(url)?;
        let settings = info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))?;
        let (writes, queued) = mpsc::channel(WRITE_QUEUE);
        let cluster = Arc::new(Self {
            replica: common::ids::random_id(12),
            client,
            hub,
            generations: Mutex::new(Weak::new()),
            commands: Mutex::new(None),
            healthy: AtomicBool::new(false),
            lost: Mutex::new(Arc::new(AtomicBool::new(true))),
            dirty: AtomicBool::new(false),
            last_heartbeat: Mutex::new(Instant::now()),
            subscribed: Mutex::new(HashSet::new()),
            subscriptions: tokio::sync::Mutex::new(None),
            receiver: Mutex::new(None),
            writes,
            tasks: Mutex::new(Vec::new()),
        });
        Ok((cluster, queued))
    }

    /// Starts the writer and the supervisor (which connects, subscribes and heals).
    pub fn start(self: &Arc<Self>, generations: &Arc<Generations>, queued: mpsc::Receiver<Write>) {
        *self.generations.lock().expect("cluster lock poisoned") = Arc::downgrade(generations);
        let writer = tokio::spawn(write_loop(Arc::downgrade(self), queued));
        let supervisor = tokio::spawn(supervise(Arc::downgrade(self)));
        let mut tasks = self.tasks.lock().expect("cluster lock poisoned");
        tasks.push(writer.abort_handle());
        tasks.push(supervisor.abort_handle());
    }

    /// Sends what is queued (the last events of the replies a shutdown interrupted, so
    /// watchers on other replicas see them end), waiting at most `SHUTDOWN_FLUSH`, then stops.
    pub async fn shutdown(&self) {
        let (flushed, written) = tokio::sync::oneshot::channel();
        if self.is_healthy() && self.writes.try_send(Write::Flush(flushed)).is_ok() {
            let _ = tokio::time::timeout(SHUTDOWN_FLUSH, written).await;
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

    fn enqueue(&self, commands: Vec<Cmd>) {
        if self.writes.try_send(Write::Commands(commands)).is_err() {
            self.dirty.store(true, Ordering::Relaxed);
        }
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
        self.enqueue(commands);
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
        self.enqueue(commands);
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
    /// event, so watchers elsewhere notice what they missed.
    pub fn rewrite(&self, meta: &GenerationMeta<'_>, events: &[ServerEvent]) {
        let mut commands = vec![redis::cmd("DEL").arg(log_key(meta.id)).clone()];
        self.register_commands(meta, &mut commands);
        let mut last = None;
        for event in events {
            let json = encode(event);
            commands.push(redis::cmd("XADD").arg(log_key(meta.id)).arg("*").arg("e").arg(&json).clone());
            last = Some(json);
        }
        if events.last().is_some_and(|e| matches!(e, ServerEvent::GenerationDone { .. })) {
            expire_commands(meta.id, KEEP_FINISHED_LOG, &mut commands);
        }
        if let Some(json) = last {
            self.publish_commands(meta.owner_id, &json, &mut commands);
        }
        self.enqueue(commands);
    }

    /// Makes sure this replica receives `owner`'s events (waits for Redis to confirm, so a
    /// catch-up read after it cannot miss an event published in between).
    pub async fn subscribe_user(&self, owner: &str) {
        let channel = user_channel(owner);
        if !self.is_healthy() || self.subscribed.lock().expect("cluster lock poisoned").contains(&channel) {
            return;
        }
        let mut subscriptions = self.subscriptions.lock().await;
        // Waiting for the lock may have taken a while: the link may be gone, or another socket
        // of the user subscribed meanwhile.
        if !self.is_healthy()
            || self.is_lost()
            || self.subscribed.lock().expect("cluster lock poisoned").contains(&channel)
        {
            return;
        }
        let Some(connection) = subscriptions.as_mut() else { return };
        match tokio::time::timeout(Duration::from_secs(2), connection.subscribe(&channel)).await {
            Ok(Ok(())) => {
                self.subscribed.lock().expect("cluster lock poisoned").insert(channel);
            }
            _ => self.mark_lost(),
        }
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
        let Some(mut connection) = self.commands() else { return false };
        let ask = async {
            let logged_owner: Option<String> =
                redis::cmd("HGET").arg(meta_key(generation_id)).arg("o").query_async(&mut connection).await?;
            if logged_owner.as_deref() != Some(owner) {
                return RedisResult::Ok(false);
            }
            let () = redis::cmd("PUBLISH")
                .arg(STOP_CHANNEL)
                .arg(generation_id)
                .query_async(&mut connection)
                .await?;
            Ok(true)
        };
        matches!(tokio::time::timeout(Duration::from_secs(2), ask).await, Ok(Ok(true)))
    }

    /// Handles one pub/sub message.
    async fn receive(&self, channel: &str, payload: &str) {
        if channel == STOP_CHANNEL {
            if let Some(generations) = self.generations.lock().expect("cluster lock poisoned").upgrade() {
                generations.stop_here(payload);
            }
            return;
        }
        if channel.starts_with("oc:hb:") {
            *self.last_heartbeat.lock().expect("cluster lock poisoned") = Instant::now();
            return;
        }
        let Some(owner) = channel.strip_prefix("oc:u:") else { return };
        let Some((replica, body)) = payload.split_once('\n') else { return };
        if replica == self.replica {
            return;
        }
        let json = match body.strip_prefix('@') {
            None => body.to_owned(),
            Some(key) => {
                let Some(mut connection) = self.commands.lock().expect("cluster lock poisoned").clone()
                else {
                    return;
                };
                match redis::cmd("GET").arg(key).query_async::<Option<String>>(&mut connection).await {
                    Ok(Some(json)) => json,
                    _ => {
                        // Expired or unreachable: the sockets catch up from the logs instead.
                        self.hub.resync_all();
                        return;
                    }
                }
            }
        };
        match serde_json::from_str::<ServerEvent>(&json) {
            Ok(event) => self.hub.publish(owner, event),
            Err(e) => tracing::warn!(error = %e, "cluster bus: an event that does not parse"),
        }
    }

    /// Connects (commands and subscription), subscribes to what this replica needs and marks
    /// it healthy; tells every socket to catch up and rewrites this replica's logs when events
    /// may have been lost.
    async fn connect(self: &Arc<Self>) -> RedisResult<()> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let existing = self.commands.lock().expect("cluster lock poisoned").clone();
        let mut commands = match existing {
            Some(commands) => commands,
            None => {
                let commands = self.client.get_connection_manager_with_config(config.clone()).await?;
                *self.commands.lock().expect("cluster lock poisoned") = Some(commands.clone());
                commands
            }
        };
        let () = redis::cmd("PING").query_async(&mut commands).await?;
        let (pushes, received) = mpsc::channel(RECEIVE_QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        *self.lost.lock().expect("cluster lock poisoned") = lost.clone();
        let receiver_lost = lost.clone();
        let sender = move |push: PushInfo| {
            if pushes.try_send(push).is_err() {
                lost.store(true, Ordering::Relaxed);
            }
            Ok::<(), ()>(())
        };
        let mut subscription =
            self.client.get_connection_manager_with_config(config.set_push_sender(sender)).await?;
        let mut channels = vec![STOP_CHANNEL.to_owned(), format!("oc:hb:{}", self.replica)];
        channels.extend(self.hub.users().iter().map(|u| user_channel(u)));
        let receiver = tokio::spawn(receive_loop(Arc::downgrade(self), received, receiver_lost));
        if let Some(old) =
            self.receiver.lock().expect("cluster lock poisoned").replace(receiver.abort_handle())
        {
            old.abort();
        }
        for chunk in channels.chunks(1000) {
            subscription.subscribe(chunk).await?;
        }
        *self.subscriptions.lock().await = Some(subscription);
        *self.subscribed.lock().expect("cluster lock poisoned") = channels.into_iter().collect();
        *self.last_heartbeat.lock().expect("cluster lock poisoned") = Instant::now();
        self.healthy.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn mark_lost(&self) {
        self.lost.lock().expect("cluster lock poisoned").store(true, Ordering::Relaxed);
    }

    fn is_lost(&self) -> bool {
        self.lost.lock().expect("cluster lock poisoned").load(Ordering::Relaxed)
    }

    /// Forgets the subscription (Redis gone, or it dropped this subscriber).
    async fn disconnect(&self) {
        self.healthy.store(false, Ordering::Relaxed);
        if let Some(receiver) = self.receiver.lock().expect("cluster lock poisoned").take() {
            receiver.abort();
        }
        *self.subscriptions.lock().await = None;
        self.subscribed.lock().expect("cluster lock poisoned").clear();
    }

    /// Subscribes to the channels of users who have sockets here but no subscription (a socket
    /// that opened while the link was being made, or while its user's channel was being left),
    /// and has those sockets catch up.
    async fn subscribe_missing(&self) {
        let mut subscriptions = self.subscriptions.lock().await;
        let missing: Vec<String> = {
            let subscribed = self.subscribed.lock().expect("cluster lock poisoned");
            self.hub.users().into_iter().filter(|u| !subscribed.contains(&user_channel(u))).collect()
        };
        let Some(connection) = subscriptions.as_mut() else { return };
        for user in missing {
            let channel = user_channel(&user);
            match tokio::time::timeout(Duration::from_secs(2), connection.subscribe(&channel)).await {
                Ok(Ok(())) => {
                    self.subscribed.lock().expect("cluster lock poisoned").insert(channel);
                    self.hub.resync(&user);
                }
                _ => {
                    self.mark_lost();
                    return;
                }
            }
        }
    }

    /// Leaves the channels of users who have no socket here any more (one who comes back
    /// meanwhile is subscribed again by [`subscribe_missing`](Self::subscribe_missing)).
    async fn unsubscribe_idle(&self) {
        let mut subscriptions = self.subscriptions.lock().await;
        let wanted: HashSet<String> = self.hub.users().iter().map(|u| user_channel(u)).collect();
        let idle: Vec<String> = self
            .subscribed
            .lock()
            .expect("cluster lock poisoned")
            .iter()
            .filter(|c| c.starts_with("oc:u:") && !wanted.contains(*c))
            .cloned()
            .collect();
        if idle.is_empty() {
            return;
        }
        let Some(connection) = subscriptions.as_mut() else { return };
        for chunk in idle.chunks(1000) {
            if connection.unsubscribe(chunk).await.is_err() {
                return;
            }
            let mut subscribed = self.subscribed.lock().expect("cluster lock poisoned");
            for channel in chunk {
                subscribed.remove(channel);
            }
        }
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

/// Sends queued writes to Redis in pipelines, in order; drops them (and marks the logs for a
/// rewrite) while Redis cannot take them.
async fn write_loop(cluster: Weak<Cluster>, mut queued: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let Some(cluster) = cluster.upgrade() else { return };
        let mut pipe = redis::pipe();
        let (mut flushed, mut commands) = (Vec::new(), 0);
        for write in batch.drain(..) {
            match write {
                Write::Commands(list) => {
                    commands += list.len();
                    for command in list {
                        pipe.add_command(command).ignore();
                    }
                }
                Write::Flush(done) => flushed.push(done),
            }
        }
        let written = match cluster.commands() {
            _ if commands == 0 => true,
            Some(mut connection) => pipe.query_async::<()>(&mut connection).await.is_ok(),
            None => false,
        };
        if !written {
            cluster.dirty.store(true, Ordering::Relaxed);
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

/// Hands pub/sub messages to [`Cluster::receive`] in order; notes a broken connection.
async fn receive_loop(cluster: Weak<Cluster>, mut received: mpsc::Receiver<PushInfo>, lost: Arc<AtomicBool>) {
    while let Some(push) = received.recv().await {
        let Some(cluster) = cluster.upgrade() else { return };
        match push.kind {
            PushKind::Message => {
                let text = |value: &Value| -> Option<String> { redis::from_redis_value_ref(value).ok() };
                if let [channel, payload] = push.data.as_slice()
                    && let (Some(channel), Some(payload)) = (text(channel), text(payload))
                {
                    cluster.receive(&channel, &payload).await;
                }
            }
            PushKind::Disconnection => {
                lost.store(true, Ordering::Relaxed);
                return;
            }
            _ => {}
        }
    }
}

/// Connects, watches the heartbeat, reconnects and heals.
async fn supervise(cluster: Weak<Cluster>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ever_connected = false;
    let mut warned = false;
    let mut ticks = 0u64;
    loop {
        tick.tick().await;
        ticks += 1;
        let Some(cluster) = cluster.upgrade() else { return };
        if cluster.is_healthy() {
            let silent = cluster.last_heartbeat.lock().expect("cluster lock poisoned").elapsed();
            if cluster.is_lost() || silent > HEARTBEAT_LOST_AFTER {
                tracing::warn!(
                    "cluster bus: lost the Redis subscription; this replica serves its own sockets \
                     only until it is back"
                );
                cluster.disconnect().await;
                warned = true;
                continue;
            }
            if let Some(mut connection) = cluster.commands() {
                let channel = format!("oc:hb:{}", cluster.replica);
                let beat = redis::cmd("PUBLISH").arg(channel).arg("").clone();
                let _ = tokio::time::timeout(TICK, beat.query_async::<()>(&mut connection)).await;
            }
            if cluster.dirty.swap(false, Ordering::Relaxed)
                && let Some(generations) =
                    cluster.generations.lock().expect("cluster lock poisoned").upgrade()
            {
                generations.rewrite_logs();
            }
            if ticks.is_multiple_of(10) {
                cluster.unsubscribe_idle().await;
            }
            cluster.subscribe_missing().await;
            continue;
        }
        match tokio::time::timeout(Duration::from_secs(5), cluster.connect()).await {
            Ok(Ok(())) => {
                if ever_connected {
                    tracing::warn!("cluster bus: Redis is back; resubscribed, sockets catch up");
                } else {
                    tracing::info!("cluster bus: connected to Redis");
                }
                if ever_connected || cluster.dirty.load(Ordering::Relaxed) {
                    cluster.dirty.store(true, Ordering::Relaxed);
                    cluster.hub.resync_all();
                }
                ever_connected = true;
                warned = false;
            }
            failed => {
                if !warned {
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    tracing::warn!(
                        error,
                        "cluster bus: cannot reach Redis; this replica serves its own sockets only \
                         until it can"
                    );
                    warned = true;
                }
                cluster.disconnect().await;
                cluster.dirty.store(true, Ordering::Relaxed);
            }
        }
    }
}
