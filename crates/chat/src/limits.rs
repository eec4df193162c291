//! Per-user write limits: rates (token buckets) and quotas (what is stored), per role
//! (`docs/security.md`, "Write limits").
//!
//! Bucket state lives behind [`LimitStore`]: in memory for one process ([`MemoryStore`]); a
//! store shared by replicas (Redis, for a cluster) implements the same trait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::config::{ChatConfig, WriteLimits};
use common::http::ApiError;
use common::token::AccessClaims;
use futures_util::future::BoxFuture;

use crate::store::Db;

/// One amount to take from one bucket, which holds `capacity` and refills `capacity` every
/// `period`, continuously.
#[derive(Debug, Clone)]
pub struct Charge {
    pub key: String,
    pub cost: u64,
    pub capacity: u64,
    pub period: Duration,
}

/// Where bucket levels are kept.
pub trait LimitStore: Send + Sync {
    /// Takes every charge, or none: `Err(i)` names the first charge that does not fit and how
    /// long until it would.
    fn take<'a>(&'a self, charges: &'a [Charge]) -> BoxFuture<'a, Result<(), (usize, Duration)>>;
}

/// Buckets of this process. Full buckets are forgotten once there are many, so memory stays
/// bounded by the users active within a period.
#[derive(Default)]
pub struct MemoryStore {
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Units left at `at`.
    level: f64,
    at: Instant,
    capacity: f64,
    per_sec: f64,
}

impl Bucket {
    fn level_at(&self, now: Instant) -> f64 {
        (self.level + now.duration_since(self.at).as_secs_f64() * self.per_sec).min(self.capacity)
    }
}

/// Buckets kept before full ones are swept.
const SWEEP_ABOVE: usize = 10_000;

impl MemoryStore {
    fn take_now(&self, charges: &[Charge], now: Instant) -> Result<(), (usize, Duration)> {
        let mut buckets = self.buckets.lock().expect("limit buckets poisoned");
        let mut levels = Vec::with_capacity(charges.len());
        for (i, charge) in charges.iter().enumerate() {
            let capacity = charge.capacity as f64;
            let per_sec = capacity / charge.period.as_secs_f64().max(1e-3);
            let level = buckets.get(&charge.key).map_or(capacity, |b| b.level_at(now));
            let cost = charge.cost as f64;
            if level < cost {
                // Larger than the whole bucket: a full period (it can never fit; the caller
                // validates sizes before).
                let wait = if cost > capacity {
                    charge.period
                } else {
                    Duration::from_secs_f64((cost - level) / per_sec)
                };
                return Err((i, wait));
            }
            levels.push(Bucket { level: level - cost, at: now, capacity, per_sec });
        }
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| b.level_at(now) < b.capacity);
        }
        for (charge, bucket) in charges.iter().zip(levels) {
            buckets.insert(charge.key.clone(), bucket);
        }
        Ok(())
    }
}

impl LimitStore for MemoryStore {
    fn take<'a>(&'a self, charges: &'a [Charge]) -> BoxFuture<'a, Result<(), (usize, Duration)>> {
        Box::pin(async move { self.take_now(charges, Instant::now()) })
    }
}

/// The write limits of the chat service.
pub struct WriteLimiter {
    defaults: WriteLimits,
    roles: Vec<(String, WriteLimits)>,
    store: Box<dyn LimitStore>,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

impl WriteLimiter {
    pub fn new(config: &ChatConfig, store: Box<dyn LimitStore>) -> Self {
        let roles = config.role_limits.iter().map(|(r, l)| (r.clone(), l.clone())).collect();
        Self { defaults: config.limits.clone(), roles, store }
    }

    /// The limits of a user with `roles`: the most generous of their roles' (0, no limit, is
    /// the most generous), else the defaults.
    pub fn limits_for(&self, roles: &[String]) -> WriteLimits {
        let mine: Vec<&WriteLimits> =
            self.roles.iter().filter(|(role, _)| roles.contains(role)).map(|(_, l)| l).collect();
        if mine.is_empty() {
            return self.defaults.clone();
        }
        let most = |field: fn(&WriteLimits) -> u64| {
            let values = mine.iter().map(|l| field(l));
            if values.clone().any(|v| v == 0) { 0 } else { values.max().unwrap_or(0) }
        };
        WriteLimits {
            messages_per_minute: most(|l| l.messages_per_minute),
            conversations_per_hour: most(|l| l.conversations_per_hour),
            bytes_per_day: most(|l| l.bytes_per_day),
            max_conversations: most(|l| l.max_conversations),
            max_messages: most(|l| l.max_messages),
            max_bytes: most(|l| l.max_bytes),
        }
    }

    /// Admits a message of `bytes` from the caller (a new message takes one stored message,
    /// two with the reply it asks for), or refuses: 403 when a quota is full, 429 with
    /// `Retry-After` when a rate is spent.
    pub async fn message(
        &self,
        db: &Db,
        claims: &AccessClaims,
        bytes: u64,
        with_reply: bool,
    ) -> Result<(), ApiError> {
        let limits = self.limits_for(&claims.roles);
        self.check_quotas(db, claims, &limits, 0, 1 + u64::from(with_reply), bytes).await?;
        let mut charges = Vec::new();
        let mut reasons = Vec::new();
        if limits.messages_per_minute > 0 {
            charges.push(Charge {
                key: format!("messages:{}", claims.sub),
                cost: 1,
                capacity: limits.messages_per_minute,
                period: MINUTE,
            });
            reasons.push(format!("Too many messages: at most {} a minute", limits.messages_per_minute));
        }
        if limits.bytes_per_day > 0 {
            charges.push(Charge {
                key: format!("bytes:{}", claims.sub),
                cost: bytes,
                capacity: limits.bytes_per_day,
                period: DAY,
            });
            reasons.push(format!("Too much text sent: at most {} bytes a day", limits.bytes_per_day));
        }
        self.take(&charges, &reasons).await
    }

    /// Admits a new conversation from the caller, or refuses like [`message`](Self::message).
    pub async fn conversation(&self, db: &Db, claims: &AccessClaims) -> Result<(), ApiError> {
        let limits = self.limits_for(&claims.roles);
        self.check_quotas(db, claims, &limits, 1, 0, 0).await?;
        if limits.conversations_per_hour == 0 {
            return Ok(());
        }
        let charge = Charge {
            key: format!("conversations:{}", claims.sub),
            cost: 1,
            capacity: limits.conversations_per_hour,
            period: HOUR,
        };
        let reason = format!("Too many new conversations: at most {} an hour", limits.conversations_per_hour);
        self.take(&[charge], &[reason]).await
    }

    async fn take(&self, charges: &[Charge], reasons: &[String]) -> Result<(), ApiError> {
        match self.store.take(charges).await {
            Ok(()) => Ok(()),
            Err((i, wait)) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let secs = secs.max(1);
                Err(ApiError::too_many_requests(secs)
                    .with_detail(format!("{}; try again in {secs} seconds", reasons[i])))
            }
        }
    }

    async fn check_quotas(
        &self,
        db: &Db,
        claims: &AccessClaims,
        limits: &WriteLimits,
        conversations: u64,
        messages: u64,
        bytes: u64,
    ) -> Result<(), ApiError> {
        if limits.max_conversations == 0 && limits.max_messages == 0 && limits.max_bytes == 0 {
            return Ok(());
        }
        let usage = db.usage(&claims.sub).await.map_err(crate::http::store_error)?;
        let over = |max: u64, used: u64, more: u64| max > 0 && more > 0 && used + more > max;
        let full = if over(limits.max_conversations, usage.conversations, conversations) {
            format!("You have {} conversations, the most you may keep", usage.conversations)
        } else if over(limits.max_messages, usage.messages, messages) {
            format!("You have {} messages, the most you may keep", usage.messages)
        } else if over(limits.max_bytes, usage.bytes, bytes) {
            format!(
                "Your messages hold {} bytes; this one would pass your limit of {}",
                usage.bytes, limits.max_bytes
            )
        } else {
            return Ok(());
        };
        Err(ApiError::forbidden(format!("{full}: delete some conversations to make room")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(key: &str, cost: u64, capacity: u64) -> Charge {
        Charge { key: key.into(), cost, capacity, period: Duration::from_secs(60) }
    }

    #[test]
    fn buckets_refill_and_take_all_or_nothing() {
        let store = MemoryStore::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            store.take_now(&[charge("a", 1, 3)], t0).unwrap();
        }
        let (i, wait) = store.take_now(&[charge("a", 1, 3)], t0).unwrap_err();
        assert_eq!((i, wait), (0, Duration::from_secs(20)));
        // 20 s later one unit is back.
        store.take_now(&[charge("a", 1, 3)], t0 + Duration::from_secs(20)).unwrap();
        // A refused second charge takes nothing from the first.
        let t1 = t0 + Duration::from_secs(600);
        assert_eq!(store.take_now(&[charge("b", 1, 3), charge("c", 5, 3)], t1).unwrap_err().0, 1);
        for _ in 0..3 {
            store.take_now(&[charge("b", 1, 3)], t1).unwrap();
        }
    }
}
