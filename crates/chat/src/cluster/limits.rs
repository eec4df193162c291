//! Limits counted in Redis, so they hold across replicas: the replies a user may have running
//! (a sorted set of reservations that expire unless renewed, so a dead replica's fall away)
//! and the write-rate buckets of [`crate::limits`]. Each check-and-take is one Lua script, so
//! parallel requests on different replicas cannot all pass. While Redis cannot be reached each
//! replica counts on its own (a degraded cluster stays usable).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::Script;

use super::Cluster;
use crate::limits::{Charge, LimitStore, MemoryStore};

/// How long a reservation counts without being renewed (a running reply renews it every few
/// seconds; one whose replica died stops counting after this).
pub const RESERVATION_TTL: Duration = Duration::from_secs(60);

fn unfinished_key(owner: &str) -> String {
    format!("oc:un:{owner}")
}

/// KEYS[1]: the owner's reservations; ARGV: member, cap, ttl in ms. 1 when reserved.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
        return 1
        ",
    )
});

/// KEYS: bucket keys; ARGV: per key cost, capacity, period in ms. Takes every charge or none:
/// `{0, 0}` when taken, else `{i, wait_ms}` for the first (1-based) that does not fit.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local levels = {}
        for i, key in ipairs(KEYS) do
            local cost = tonumber(ARGV[i * 3 - 2])
            local capacity = tonumber(ARGV[i * 3 - 1])
            local period = tonumber(ARGV[i * 3])
            local rate = capacity / period
            local level = capacity
            local stored = redis.call('HMGET', key, 'l', 't')
            if stored[1] then
                level = math.min(capacity, tonumber(stored[1]) + (now - tonumber(stored[2])) * rate)
            end
            if level < cost then
                if cost > capacity then return {i, period} end
                return {i, math.ceil((cost - level) / rate)}
            end
            levels[i] = level - cost
        end
        for i, key in ipairs(KEYS) do
            redis.call('HSET', key, 'l', string.format('%.6f', levels[i]), 't', now)
            redis.call('PEXPIRE', key, tonumber(ARGV[i * 3]))
        end
        return {0, 0}
        ",
    )
});

impl Cluster {
    /// Reserves one of `owner`'s `cap` unfinished replies across the cluster: `Some(true)` when
    /// reserved, `Some(false)` when the cap is reached, `None` when Redis cannot tell.
    pub async fn reserve(&self, owner: &str, member: &str, cap: usize) -> Option<bool> {
        let mut connection = self.commands()?;
        let mut invocation = RESERVE.key(unfinished_key(owner));
        invocation.arg(member).arg(cap).arg(RESERVATION_TTL.as_millis() as u64);
        let reserved = invocation.invoke_async::<i64>(&mut connection);
        match tokio::time::timeout(Duration::from_secs(2), reserved).await {
            Ok(Ok(reserved)) => Some(reserved == 1),
            _ => None,
        }
    }

    /// Keeps a running reply's reservation counted.
    pub fn renew(&self, owner: &str, member: &str) {
        let mut command = redis::cmd("EVAL");
        command.arg(RENEW_SOURCE).arg(1).arg(unfinished_key(owner)).arg(member);
        command.arg(RESERVATION_TTL.as_millis() as u64);
        self.enqueue(vec![command]);
    }

    /// Gives a reservation back (the reply ended, or never started).
    pub fn release(&self, owner: &str, member: &str) {
        self.enqueue(vec![redis::cmd("ZREM").arg(unfinished_key(owner)).arg(member).clone()]);
    }
}

/// KEYS[1]: the owner's reservations; ARGV: member, ttl in ms. Renews a reservation still held
/// (an `EVAL`, which the writer pipelines like any command).
const RENEW_SOURCE: &str = r"
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
    return 1
";

/// Write-rate buckets in Redis, or in this process while Redis cannot be reached.
pub struct ClusterLimits {
    cluster: Arc<Cluster>,
    fallback: MemoryStore,
}

impl ClusterLimits {
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Self { cluster, fallback: MemoryStore::default() }
    }

    async fn take_shared(&self, charges: &[Charge]) -> Option<Result<(), (usize, Duration)>> {
        let mut connection = self.cluster.commands()?;
        let mut invocation = TAKE.prepare_invoke();
        for charge in charges {
            invocation.key(format!("oc:lim:{}", charge.key));
            let period = charge.period.as_millis().max(1) as u64;
            invocation.arg(charge.cost).arg(charge.capacity).arg(period);
        }
        let taken = invocation.invoke_async::<(i64, i64)>(&mut connection);
        match tokio::time::timeout(Duration::from_secs(2), taken).await {
            Ok(Ok((0, _))) => Some(Ok(())),
            Ok(Ok((i, wait))) => {
                Some(Err(((i - 1).max(0) as usize, Duration::from_millis(wait.max(1) as u64))))
            }
            _ => None,
        }
    }
}

impl LimitStore for ClusterLimits {
    fn take<'a>(&'a self, charges: &'a [Charge]) -> BoxFuture<'a, Result<(), (usize, Duration)>> {
        Box::pin(async move {
            match self.take_shared(charges).await {
                Some(taken) => taken,
                None => self.fallback.take(charges).await,
            }
        })
    }
}
