//! Turns across replicas: the replies of one conversation run one after another, in the order
//! they started, whichever replica runs each (a reply reads the conversation, earlier replies
//! included, when its turn comes). Each process orders its own with a lock per conversation;
//! this orders them all: a queue per conversation in Redis (`oc:q:{conversation}`, scored by
//! start time) whose head has the turn, and a second set of the same members scored by when
//! they stop counting unless renewed (`oc:qx:{conversation}`), so a dead replica's replies
//! leave the queue. While Redis cannot be reached a reply does not wait for other replicas.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::Cluster;

/// How long a place in a queue counts without being renewed (a running or waiting reply
/// renews it with its reservation, every few seconds).
pub const TURN_TTL: Duration = Duration::from_secs(20);

fn queue_keys(conversation_id: &str) -> [String; 2] {
    [format!("oc:q:{conversation_id}"), format!("oc:qx:{conversation_id}")]
}

/// KEYS: the queue and its expiries; ARGV: member, start time, ttl in ms. Joins (or renews the
/// place in) the queue, drops places that expired, and answers 1 when the member is first.
static TURN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
            redis.call('ZREM', KEYS[1], gone)
            redis.call('ZREM', KEYS[2], gone)
        end
        local ttl = tonumber(ARGV[3])
        redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[2]), ARGV[1])
        redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', KEYS[2], ttl)
        local head = redis.call('ZRANGE', KEYS[1], 0, 0)
        if head[1] == ARGV[1] then return 1 end
        return 0
        ",
    )
});

/// KEYS: the queue and its expiries; ARGV: member, ttl in ms. Renews a place still held.
const RENEW_SOURCE: &str = r"
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if redis.call('ZADD', KEYS[2], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
        redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
    end
    return 1
";

impl Cluster {
    /// Takes a place in the conversation's queue (or checks it): `Some(true)` when it is this
    /// generation's turn, `None` when Redis cannot tell.
    pub async fn turn(&self, conversation_id: &str, generation_id: &str, started_ms: i64) -> Option<bool> {
        let mut connection = self.commands()?;
        let mut invocation = TURN.prepare_invoke();
        for key in queue_keys(conversation_id) {
            invocation.key(key);
        }
        invocation.arg(generation_id).arg(started_ms).arg(TURN_TTL.as_millis() as u64);
        let first = invocation.invoke_async::<i64>(&mut connection);
        match tokio::time::timeout(Duration::from_secs(2), first).await {
            Ok(Ok(first)) => Some(first == 1),
            _ => None,
        }
    }

    /// Keeps a waiting or running reply's place.
    pub fn renew_turn(&self, conversation_id: &str, generation_id: &str) {
        let mut command = redis::cmd("EVAL");
        command.arg(RENEW_SOURCE).arg(2).arg(&queue_keys(conversation_id)[..]).arg(generation_id);
        command.arg(TURN_TTL.as_millis() as u64);
        self.enqueue(vec![command]);
    }

    /// Leaves the queue: the next reply of the conversation may run.
    pub fn end_turn(&self, conversation_id: &str, generation_id: &str) {
        let commands =
            queue_keys(conversation_id).map(|key| redis::cmd("ZREM").arg(key).arg(generation_id).clone());
        self.enqueue(commands.into());
    }
}
