//! Generations: a reply from the model as a server-side object with an id, a status and an
//! ordered sequence of deltas, independent of the socket that asked for it.

mod approvals;
mod bus;
mod calls;
mod hub;
mod reply;
mod reserve;
mod run;
mod snapshot;
mod title;
mod tools;
mod unsynced;
mod usage;

pub use bus::Bus;
pub use hub::{Event, Hub, MAX_BYTES as MAX_HUB_BYTES, Receiver, RecvError};
use reply::State;
pub use reserve::Reservation;
pub use snapshot::Snapshot;
pub use title::DEFAULT_TITLE;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::chat::{MessageStatus, Role, ServerEvent};
use llm::Registry;
use tokio::sync::watch;

use crate::cluster::GenerationMeta;
use crate::store::{ConversationRecord, Db, MessageRecord, NewMessage, Parent};
use crate::tools::Tools;

/// How long a finished generation stays findable, for sockets that resubscribe late.
const KEEP_FINISHED: Duration = Duration::from_secs(30);
/// Replies one user may have running or queued at once.
pub const MAX_UNFINISHED_PER_USER: usize = 8;
/// A streaming reply not saved for this long is considered dead (its process died).
pub const LEASE_MS: i64 = 15_000;
/// Largest delta: a provider's larger chunk goes out as several (each event stays small, also
/// on the cluster bus).
const MAX_DELTA_BYTES: usize = 16 * 1024;

/// Bounds on one reply, whatever the provider sends.
#[derive(Debug, Clone, Copy)]
pub struct ReplyLimits {
    /// Longest reply text in bytes, a continuation's earlier text included.
    pub max_bytes: usize,
    /// Longest time a reply may stream once the model has started on it.
    pub max_duration: Duration,
}

impl ReplyLimits {
    pub fn from_config(config: &common::config::ChatConfig) -> Self {
        Self { max_bytes: config.max_reply_bytes, max_duration: Duration::from_secs(config.max_reply_secs) }
    }
}

/// Why a generation stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    User,
    Shutdown,
}

pub struct Generation {
    pub id: String,
    pub conversation_id: String,
    pub owner_id: String,
    pub message_id: String,
    pub model: String,
    /// The text the reply had before this generation (a continuation), which deltas extend.
    prefix: String,
    /// The reply's place in its conversation, and the message it answers.
    position: i64,
    parent_id: Option<String>,
    /// Wall-clock start (milliseconds), which orders generations across replicas.
    started_ms: i64,
    /// Its place under the owner's cluster-wide reply cap, if counted there.
    member: Option<String>,
    /// The owner's roles when the reply was asked for (which shared tool servers it may use).
    roles: Vec<String>,
    /// The owner's username then (for the tool-call audit).
    username: String,
    /// The access token the reply was asked with: exchanged for a token of an MCP server that
    /// needs to know the user (never sent anywhere, never stored).
    subject_token: String,
    /// The MCP servers its conversation chose (`None`: every active one).
    mcp_servers: Option<Vec<String>>,
    state: Mutex<State>,
    stop: watch::Sender<Option<StopReason>>,
    /// Tool calls waiting for the owner's approval: call id → where the answer goes.
    approvals: Mutex<HashMap<String, tokio::sync::oneshot::Sender<bool>>>,
}

/// All generations of this process.
pub struct Generations {
    db: Db,
    bus: Bus,
    registry: Registry,
    limits: ReplyLimits,
    tools: Arc<Tools>,
    running: Mutex<HashMap<String, Arc<Generation>>>,
    /// Replies reserved but not launched yet, per owner (taken under `running`'s lock, which is
    /// always locked first).
    reserved: Mutex<HashMap<String, usize>>,
    /// One lock per conversation: replies of a conversation run one after another, in order.
    conversation_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Finished generations whose logs may be missing from the cluster (Redis was away when
    /// they ended), kept until rewritten so watchers on other replicas see them end.
    unsynced: Mutex<unsynced::Unsynced>,
    metrics: Arc<crate::metrics::ChatMetrics>,
}

impl Generations {
    pub fn new(
        db: Db,
        bus: Bus,
        registry: Registry,
        limits: ReplyLimits,
        tools: Arc<Tools>,
        metrics: Arc<crate::metrics::ChatMetrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            metrics,
            db,
            bus,
            registry,
            limits,
            tools,
            running: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashMap::new()),
            conversation_locks: Mutex::new(HashMap::new()),
            unsynced: Mutex::default(),
        })
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn metrics(&self) -> &crate::metrics::ChatMetrics {
        &self.metrics
    }

    /// The MCP servers' tools.
    pub fn tools(&self) -> &Tools {
        &self.tools
    }

    /// The model a reply in `conversation` uses.
    pub fn model_for(&self, conversation: &ConversationRecord) -> String {
        conversation
            .model
            .clone()
            .or_else(|| self.registry.default_model())
            .unwrap_or_else(|| "none".to_owned())
    }

    /// The empty, streaming assistant message a reply starts as (to store with
    /// [`Db::append_messages`], then [`launch`](Self::launch)).
    pub fn reply_row<'a>(
        conversation: &'a ConversationRecord,
        parent: Parent<'a>,
        id: &'a str,
        model: &'a str,
        now: i64,
    ) -> NewMessage<'a> {
        NewMessage {
            id,
            conversation_id: &conversation.id,
            parent,
            role: Role::Assistant,
            content: "",
            status: MessageStatus::Streaming,
            model: Some(model),
            lease_until: Some(now + LEASE_MS),
        }
    }

    /// Stores an empty assistant reply to `user_message` and starts producing it.
    pub async fn start(
        self: &Arc<Self>,
        slot: Reservation,
        conversation: &ConversationRecord,
        user_message: &MessageRecord,
    ) -> Result<Arc<Generation>, crate::store::StoreError> {
        let model = self.model_for(conversation);
        let now = common::clock::now_millis();
        let message_id = common::ids::random_id(common::ids::MESSAGE_ID_LEN);
        let row =
            Self::reply_row(conversation, Parent::Exactly(Some(&user_message.id)), &message_id, &model, now);
        let reply = self.db.append_message(&row, now).await?;
        Ok(self.launch(slot, conversation, &reply, &user_message.content))
    }

    /// Continues a reply that ended early (`incomplete`, `cancelled`, `interrupted`): the same
    /// message, reopened, extended by a new generation. `None` when it cannot be continued
    /// (another continuation won, or it is not such a reply).
    pub async fn resume(
        self: &Arc<Self>,
        slot: Reservation,
        conversation: &ConversationRecord,
        reply: &MessageRecord,
    ) -> Result<Option<Arc<Generation>>, crate::store::StoreError> {
        let now = common::clock::now_millis();
        if !self.db.reopen_message(&reply.id, now, now + LEASE_MS).await? {
            return Ok(None);
        }
        Ok(Some(self.launch(slot, conversation, reply, "")))
    }

    /// Starts producing `reply`, whose message is stored and `streaming`. Its context is the
    /// branch ending at it; its stored text (a continuation's) is kept and extended. `question`
    /// names the conversation when it still has the default title.
    pub fn launch(
        self: &Arc<Self>,
        mut slot: Reservation,
        conversation: &ConversationRecord,
        reply: &MessageRecord,
        question: &str,
    ) -> Arc<Generation> {
        let (stop, stopped) = watch::channel(None);
        let model = reply.model.clone().unwrap_or_else(|| self.model_for(conversation));
        let generation = Arc::new(Generation {
            id: common::ids::random_id(16),
            conversation_id: conversation.id.clone(),
            owner_id: conversation.owner_id.clone(),
            message_id: reply.id.clone(),
            model,
            prefix: reply.content.clone(),
            position: reply.position,
            parent_id: reply.parent_id.clone(),
            started_ms: common::clock::now_millis(),
            member: slot.member.take(),
            roles: std::mem::take(&mut slot.roles),
            username: std::mem::take(&mut slot.username),
            subject_token: std::mem::take(&mut slot.subject_token),
            mcp_servers: conversation.mcp_servers.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            // A continued reply keeps the tools it called before.
            state: Mutex::new(State {
                calls: reply
                    .tool_calls
                    .as_deref()
                    .and_then(|j| serde_json::from_str(j).ok())
                    .unwrap_or_default(),
                ..State::default()
            }),
            stop,
            approvals: Mutex::default(),
        });
        {
            // The reservation becomes the running generation under one lock: never counted
            // twice, never missing.
            let mut running = self.running.lock().expect("generations lock poisoned");
            running.insert(generation.id.clone(), generation.clone());
            slot.release();
        }
        self.bus.record(&generation.meta(), generation.started_event());
        let lock = self.conversation_lock(&conversation.id);
        let this = self.clone();
        let task_generation = generation.clone();
        let system_prompt = conversation.system_prompt.clone();
        let needs_title = conversation.title == DEFAULT_TITLE && !question.is_empty();
        let question = question.to_owned();
        tokio::spawn(async move {
            let status = run::run(&this, &task_generation, lock, system_prompt, stopped).await;
            if let Some(cluster) = this.bus.cluster() {
                cluster.end_turn(&task_generation.conversation_id, &task_generation.id);
                if let Some(member) = &task_generation.member {
                    cluster.release(&task_generation.owner_id, member);
                }
            }
            if needs_title {
                let g = &task_generation;
                // A stopped or failed first reply still names the conversation, from the question.
                let answer = (status == MessageStatus::Complete).then(|| g.text());
                title::name_conversation(&this, &g.owner_id, &g.conversation_id, &g.model, &question, answer)
                    .await;
            }
            tokio::time::sleep(KEEP_FINISHED).await;
            this.forget(&task_generation.id);
        });
        generation
    }

    fn conversation_lock(&self, conversation_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.conversation_locks.lock().expect("locks poisoned");
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(conversation_id.to_owned()).or_default().clone()
    }

    /// A generation of this owner running here or recently finished here.
    pub fn get(&self, generation_id: &str, owner_id: &str) -> Option<Arc<Generation>> {
        let running = self.running.lock().expect("generations lock poisoned");
        running.get(generation_id).filter(|g| g.owner_id == owner_id).cloned()
    }

    /// What the generations of a conversation have sent, oldest first: this replica's from
    /// memory, other replicas' from their logs.
    pub async fn snapshots_in(&self, conversation_id: &str, owner_id: &str) -> Vec<Snapshot> {
        let mut found: Vec<Snapshot> = {
            let running = self.running.lock().expect("generations lock poisoned");
            running
                .values()
                .filter(|g| g.conversation_id == conversation_id && g.owner_id == owner_id)
                .map(|g| g.snapshot())
                .collect()
        };
        if let Some(cluster) = self.bus.cluster() {
            for remote in cluster.snapshots(conversation_id, owner_id).await {
                if !found.iter().any(|s| s.id == remote.id) {
                    found.push(remote);
                }
            }
        }
        found.sort_by(|a, b| a.started_ms.cmp(&b.started_ms).then_with(|| a.id.cmp(&b.id)));
        found
    }

    /// Asks a generation to stop, wherever it runs; returns whether it was found.
    pub async fn stop(&self, generation_id: &str, owner_id: &str) -> bool {
        if let Some(g) = self.get(generation_id, owner_id) {
            let _ = g.stop.send(Some(StopReason::User));
            return true;
        }
        match self.bus.cluster() {
            Some(cluster) => cluster.stop(generation_id, owner_id).await,
            None => false,
        }
    }

    /// Stops a generation of this replica that another replica was asked to stop (the asking
    /// replica checked the owner).
    pub fn stop_here(&self, generation_id: &str) {
        let running = self.running.lock().expect("generations lock poisoned");
        if let Some(g) = running.get(generation_id) {
            let _ = g.stop.send(Some(StopReason::User));
        }
    }

    /// Writes the cluster logs of this replica's generations again (writes were lost).
    /// Keeps a running generation counted under its owner's cluster-wide cap.
    fn renew(&self, generation: &Generation) {
        let Some(cluster) = self.bus.cluster() else { return };
        if let Some(member) = &generation.member {
            cluster.renew(&generation.owner_id, member);
        }
        cluster.renew_turn(&generation.conversation_id, &generation.id);
    }

    /// Tells every watcher, on every replica, that a reply whose producer died (its lease ran
    /// out) ended `interrupted`. Its log holds every delta the watchers saw, which may be more
    /// than the producer saved: the stored reply keeps all of it.
    pub async fn announce_interrupted(&self, record: &MessageRecord, owner_id: &str) {
        let Some(cluster) = self.bus.cluster() else { return };
        let snapshots = cluster.snapshots(&record.conversation_id, owner_id).await;
        let Some(log) = snapshots.into_iter().find(|s| s.message_id == record.id && !s.is_done()) else {
            return;
        };
        let mut record = record.clone();
        let mut streamed = log.prefix.clone();
        for event in &log.events {
            if let ServerEvent::Delta { text, .. } = event {
                streamed.push_str(text);
            }
        }
        if streamed.len() > record.content.len() && streamed.starts_with(&record.content) {
            match self.db.keep_interrupted_text(&record.id, &streamed).await {
                Ok(()) => record.content = streamed,
                Err(e) => tracing::warn!(error = %e, "cannot store an interrupted reply's streamed text"),
            }
        }
        let message = crate::convert::message_to_wire(&record);
        let done = ServerEvent::GenerationDone {
            generation_id: log.id.clone(),
            conversation_id: record.conversation_id.clone(),
            status: MessageStatus::Interrupted,
            usage: message.usage,
            message,
            reason: Some("the server producing the reply stopped".to_owned()),
        };
        let meta = GenerationMeta {
            id: &log.id,
            owner_id,
            conversation_id: &record.conversation_id,
            message_id: &record.id,
            started_ms: log.started_ms,
        };
        self.bus.record(&meta, done);
    }

    /// Stops every generation (at shutdown) and waits briefly for them to be stored.
    pub async fn stop_all(&self) {
        let all: Vec<_> = self.running.lock().expect("generations lock poisoned").values().cloned().collect();
        for g in &all {
            let _ = g.stop.send(Some(StopReason::Shutdown));
        }
        for _ in 0..50 {
            if all.iter().all(|g| g.state.lock().expect("generation lock poisoned").done.is_some()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
