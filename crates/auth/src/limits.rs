//! Failure counters for brute-force defence: a leaky bucket per key (an address or an
//! account). Each failure adds one; the level drains at a steady rate; past the allowance the
//! key must wait, answered at once with 429 and `Retry-After`, never by holding a connection
//! and never by a permanent lockout. Successes are not counted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, drained entries are pruned.
const PRUNE_ABOVE: usize = 10_000;

pub struct FailureLimiter<K> {
    allowance: f64,
    drain_per_sec: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Eq + Hash + Clone> FailureLimiter<K> {
    /// `allowance` failures are free; the level drains by `allowance` per `window`.
    pub fn new(allowance: u32, window: Duration) -> Self {
        let allowance = f64::from(allowance.max(1));
        Self {
            allowance,
            drain_per_sec: allowance / window.as_secs_f64(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must wait before its next attempt; `None` if it may go now.
    pub fn wait_time(&self, key: &K) -> Option<Duration> {
        let buckets = self.buckets.lock().expect("limiter lock poisoned");
        let (level, at) = buckets.get(key)?;
        let level = self.drained(*level, *at);
        // One more failure must fit under the allowance: wait until the level drains to it.
        let free_level = self.allowance - 1.0;
        (level > free_level).then(|| Duration::from_secs_f64((level - free_level) / self.drain_per_sec))
    }

    /// Records one failure.
    pub fn record_failure(&self, key: &K) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter lock poisoned");
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, (level, at)| self.drained(*level, *at) > 0.0);
        }
        let entry = buckets.entry(key.clone()).or_insert((0.0, now));
        entry.0 = self.drained(entry.0, entry.1) + 1.0;
        entry.1 = now;
    }

    fn drained(&self, level: f64, since: Instant) -> f64 {
        (level - since.elapsed().as_secs_f64() * self.drain_per_sec).max(0.0)
    }
}

/// Per-account delays that grow with consecutive failures: after `free` failures each further
/// attempt waits `base · 2^(failures − free)` after the previous failure, capped at `cap`.
/// The count resets on success and is forgotten after a day without failures, so an account
/// is never locked for good — its owner, who knows the password, waits at most `cap`.
pub struct BackoffLimiter<K> {
    free: u32,
    base: Duration,
    cap: Duration,
    failures: Mutex<HashMap<K, (u32, Instant)>>,
}

const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

impl<K: Eq + Hash + Clone> BackoffLimiter<K> {
    pub fn new(free: u32, base: Duration, cap: Duration) -> Self {
        Self { free: free.max(1), base, cap, failures: Mutex::new(HashMap::new()) }
    }

    /// How long `key` must still wait; `None` if it may try now.
    pub fn wait_time(&self, key: &K) -> Option<Duration> {
        let failures = self.failures.lock().expect("limiter lock poisoned");
        let (count, last) = failures.get(key)?;
        if *count < self.free || last.elapsed() >= FORGET_AFTER {
            return None;
        }
        let exponent = (*count - self.free).min(20);
        let delay = self.base.saturating_mul(1 << exponent).min(self.cap);
        delay.checked_sub(last.elapsed()).filter(|d| !d.is_zero())
    }

    pub fn record_failure(&self, key: &K) {
        let mut failures = self.failures.lock().expect("limiter lock poisoned");
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        }
        let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
    }

    pub fn reset(&self, key: &K) {
        self.failures.lock().expect("limiter lock poisoned").remove(key);
    }
}

/// Retry-After seconds for a wait (at least one).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_allowance_then_asks_to_wait() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            limiter.record_failure(&"k");
            assert!(limiter.wait_time(&"k").is_none());
        }
        limiter.record_failure(&"k");
        let wait = limiter.wait_time(&"k").expect("third failure must wait");
        assert!(wait <= Duration::from_secs(21) && wait >= Duration::from_secs(19), "{wait:?}");
        assert!(limiter.wait_time(&"other").is_none());
    }

    #[test]
    fn account_delays_grow_and_are_capped() {
        let limiter = BackoffLimiter::new(2, Duration::from_secs(5), Duration::from_secs(60));
        let wait_after = |n: usize| {
            let limiter = BackoffLimiter::new(2, Duration::from_secs(5), Duration::from_secs(60));
            (0..n).for_each(|_| limiter.record_failure(&"k"));
            limiter.wait_time(&"k").map(|d| d.as_secs_f64().round() as u64)
        };
        assert_eq!(wait_after(1), None);
        assert_eq!(wait_after(2), Some(5));
        assert_eq!(wait_after(3), Some(10));
        assert_eq!(wait_after(4), Some(20));
        assert_eq!(wait_after(9), Some(60), "capped");
        limiter.record_failure(&"k");
        limiter.record_failure(&"k");
        assert!(limiter.wait_time(&"k").is_some());
        limiter.reset(&"k");
        assert!(limiter.wait_time(&"k").is_none(), "a success clears the count");
    }

    #[test]
    fn drains_over_time() {
        let limiter = FailureLimiter::new(1, Duration::from_millis(50));
        limiter.record_failure(&1);
        assert!(limiter.wait_time(&1).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.wait_time(&1).is_none());
    }
}
