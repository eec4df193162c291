//! The link to Redis: connecting, subscribing to the channels this replica needs, receiving,
//! and healing — a replica proves its subscription alive by receiving its own heartbeat every
//! second; when it stops arriving (Redis restarted, or dropped this subscriber) the replica
//! resubscribes, tells every socket to catch up, and repairs what its lost writes left behind.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use api_types::chat::ServerEvent;
use redis::aio::ConnectionManagerConfig;
use redis::{PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc;

use super::writer::{self, Catchup};
use super::{Cluster, HEARTBEAT_LOST_AFTER, RESYNC_CHANNEL, STOP_CHANNEL, TICK, user_channel};

/// Pub/sub messages received but not yet handled (by count and about by bytes) before the
/// subscription counts as lost.
const RECEIVE_QUEUE: usize = 100_000;
const RECEIVE_BYTES: usize = 64 << 20;
/// How long a repair waits for its writes to reach Redis, and before it tries again when they
/// did not.
pub(crate) const REPAIR_FLUSH: Duration = Duration::from_secs(10);
const REPAIR_RETRY: Duration = Duration::from_secs(5);

impl Cluster {
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

    /// Handles one pub/sub message.
    async fn receive(&self, channel: &str, payload: &str) {
        if channel == STOP_CHANNEL {
            if let Some(generations) = self.generations.lock().expect("cluster lock poisoned").upgrade() {
                match payload.split('\n').collect::<Vec<_>>()[..] {
                    [generation_id, call_id, approved] => {
                        generations.answer_here(generation_id, call_id, approved == "1");
                    }
                    _ => generations.stop_here(payload),
                }
            }
            return;
        }
        if channel.starts_with("oc:hb:") {
            *self.last_heartbeat.lock().expect("cluster lock poisoned") = Instant::now();
            return;
        }
        if channel == RESYNC_CHANNEL {
            if payload != self.replica {
                self.hub.resync_all();
            }
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
                        // Expired or unreachable: the user's sockets catch up instead.
                        self.hub.resync(owner);
                        return;
                    }
                }
            }
        };
        match serde_json::from_str::<ServerEvent>(&json) {
            // Another replica lost some of this user's events: the sockets here catch up.
            Ok(ServerEvent::Resync) => self.hub.resync(owner),
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
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let receiver_bytes = queued_bytes.clone();
        let sender = move |push: PushInfo| {
            // Too much waiting to be handled (by count or by bytes): the subscription counts
            // as lost, and the sockets catch up from the logs once it is made again.
            let bytes = push_bytes(&push);
            if queued_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes > RECEIVE_BYTES
                || pushes.try_send((push, bytes)).is_err()
            {
                queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                lost.store(true, Ordering::Relaxed);
            }
            Ok::<(), ()>(())
        };
        let mut subscription =
            self.client.get_connection_manager_with_config(config.set_push_sender(sender)).await?;
        let mut channels =
            vec![STOP_CHANNEL.to_owned(), RESYNC_CHANNEL.to_owned(), format!("oc:hb:{}", self.replica)];
        channels.extend(self.hub.users().iter().map(|u| user_channel(u)));
        let receiver =
            tokio::spawn(receive_loop(Arc::downgrade(self), received, receiver_bytes, receiver_lost));
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

    /// After writes were lost: rewrites this replica's logs (running replies, and those that
    /// ended meanwhile) and tells the users who missed other events to catch up, on every
    /// replica. Runs apart from the supervisor (which goes on beating), one at a time; when
    /// it cannot confirm that everything reached Redis it waits, then asks for another.
    fn start_repair(self: &Arc<Self>) {
        if self.repairing.swap(true, Ordering::Relaxed) {
            return;
        }
        let cluster = self.clone();
        tokio::spawn(async move {
            let generations = cluster.generations.lock().expect("cluster lock poisoned").upgrade();
            let mut repaired = match generations {
                Some(generations) => generations.rewrite_logs(&cluster).await,
                None => true,
            };
            let missed = cluster.writes.take_missed();
            if missed.everyone {
                let command = redis::cmd("PUBLISH").arg(RESYNC_CHANNEL).arg(&cluster.replica).clone();
                cluster.writes.enqueue(vec![command], writer::SMALL, Catchup::Everyone);
            }
            for user in missed.users {
                cluster.publish(&user, &ServerEvent::Resync);
            }
            repaired &= cluster.flushed(REPAIR_FLUSH).await;
            if !repaired {
                tokio::time::sleep(REPAIR_RETRY).await;
                cluster.writes.mark_dirty();
            }
            cluster.repairing.store(false, Ordering::Relaxed);
        });
    }
}

/// Hands pub/sub messages to [`Cluster::receive`] in order; notes a broken connection.
async fn receive_loop(
    cluster: Weak<Cluster>,
    mut received: mpsc::Receiver<(PushInfo, usize)>,
    queued_bytes: Arc<AtomicUsize>,
    lost: Arc<AtomicBool>,
) {
    while let Some((push, bytes)) = received.recv().await {
        queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
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

/// About what a pub/sub message weighs while it waits to be handled.
fn push_bytes(push: &PushInfo) -> usize {
    const OVERHEAD: usize = 64;
    let size = |value: &Value| match value {
        Value::BulkString(bytes) => bytes.len(),
        Value::SimpleString(text) => text.len(),
        _ => 0,
    };
    OVERHEAD + push.data.iter().map(size).sum::<usize>()
}

/// Connects, watches the heartbeat, reconnects and heals.
pub(super) async fn supervise(cluster: Weak<Cluster>) {
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
            if !cluster.repairing.load(Ordering::Relaxed) && cluster.writes.take_dirty() {
                cluster.start_repair();
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
                if ever_connected || cluster.writes.is_dirty() {
                    cluster.writes.mark_dirty();
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
                cluster.writes.mark_dirty();
            }
        }
    }
}
