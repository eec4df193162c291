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
    buckets: Mutex<Buckets<K, (f64, Instant)>>,
}

/// A map that prunes itself from time to time: only when it has doubled since the last
/// pruning, so a flood of new keys costs amortised O(1) per insert, never a scan per request.
struct Buckets<K, V> {
    map: HashMap<K, V>,
    prune_at: usize,
}

impl<K: Eq + Hash, V> Buckets<K, V> {
    fn new() -> Self {
        Self { map: HashMap::new(), prune_at: PRUNE_ABOVE }
    }

    fn prune_if_grown(&mut self, keep: impl FnMut(&K, &mut V) -> bool) {
        if self.map.len() > self.prune_at {
            self.map.retain(keep);
            self.prune_at = (self.map.len() * 2).max(PRUNE_ABOVE);
        }
    }
}

impl<K: Eq + Hash + Clone> FailureLimiter<K> {
    /// `allowance` failures are free; the level drains by `allowance` per `window`.
    pub fn new(allowance: u32, window: Duration) -> Self {
        let allowance = f64::from(allowance.max(1));
        Self {
            allowance,
            drain_per_sec: allowance / window.as_secs_f64(),
            buckets: Mutex::new(Buckets::new()),
        }
    }

    /// How long `key` must wait before its next attempt; `None` if it may go now.
    pub fn wait_time(&self, key: &K) -> Option<Duration> {
        let buckets = self.buckets.lock().expect("limiter lock poisoned");
        let (level, at) = buckets.map.get(key)?;
        self.wait_for(self.drained(*level, *at))
    }

    /// One more failure must fit under the allowance: wait until the level drains to it.
    fn wait_for(&self, level: f64) -> Option<Duration> {
        let free_level = self.allowance - 1.0;
        (level > free_level).then(|| Duration::from_secs_f64((level - free_level) / self.drain_per_sec))
    }

    /// Checks and counts in one step: `Some(wait)` if `key` must wait, otherwise the attempt is
    /// counted as a failure until [`forgive`](Self::forgive) takes it back.
    pub fn try_attempt(&self, key: &K) -> Option<Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter lock poisoned");
        buckets.prune_if_grown(|_, (level, at)| self.drained(*level, *at) > 0.0);
        let entry = buckets.map.entry(key.clone()).or_insert((0.0, now));
        let level = self.drained(entry.0, entry.1);
        if let Some(wait) = self.wait_for(level) {
            return Some(wait);
        }
        *entry = (level + 1.0, now);
        None
    }

    /// Takes back one counted attempt (it succeeded).
    pub fn forgive(&self, key: &K) {
        let mut buckets = self.buckets.lock().expect("limiter lock poisoned");
        if let Some(entry) = buckets.map.get_mut(key) {
            entry.0 = (self.drained(entry.0, entry.1) - 1.0).max(0.0);
            entry.1 = Instant::now();
        }
    }

    /// Records one failure.
    pub fn record_failure(&self, key: &K) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter lock poisoned");
        buckets.prune_if_grown(|_, (level, at)| self.drained(*level, *at) > 0.0);
        let entry = buckets.map.entry(key.clone()).or_insert((0.0, now));
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
    failures: Mutex<Buckets<K, (u32, Instant)>>,
}

const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

impl<K: Eq + Hash + Clone> BackoffLimiter<K> {
    pub fn new(free: u32, base: Duration, cap: Duration) -> Self {
        Self { free: free.max(1), base, cap, failures: Mutex::new(Buckets::new()) }
    }

    /// How long `key` must still wait; `None` if it may try now.
    pub fn wait_time(&self, key: &K) -> Option<Duration> {
        let failures = self.failures.lock().expect("limiter lock poisoned");
        let (count, last) = failures.map.get(key)?;
        self.wait_for(*count, *last)
    }

    fn wait_for(&self, count: u32, last: Instant) -> Option<Duration> {
        if count < self.free || last.elapsed() >= FORGET_AFTER {
            return None;
        }
        let exponent = (count - self.free).min(20);
        let delay = self.base.saturating_mul(1 << exponent).min(self.cap);
        delay.checked_sub(last.elapsed()).filter(|d| !d.is_zero())
    }

    /// Checks and counts in one step: `Some(wait)` if `key` must wait, otherwise the attempt
    /// counts as a failure until [`reset`](Self::reset) (a success) clears the count.
    pub fn try_attempt(&self, key: &K) -> Option<Duration> {
        let mut failures = self.failures.lock().expect("limiter lock poisoned");
        failures.prune_if_grown(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        let now = Instant::now();
        let entry = failures.map.entry(key.clone()).or_insert((0, now));
        if let Some(wait) = self.wait_for(entry.0, entry.1) {
            return Some(wait);
        }
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), now);
        None
    }

    pub fn record_failure(&self, key: &K) {
        let mut failures = self.failures.lock().expect("limiter lock poisoned");
        failures.prune_if_grown(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        let entry = failures.map.entry(key.clone()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
    }

    pub fn reset(&self, key: &K) {
        self.failures.lock().expect("limiter lock poisoned").map.remove(key);
    }
}

/// The key an address is limited under: IPv6 clients usually hold a whole /64, so they are
/// limited per /64 rather than per address; IPv4-mapped IPv6 addresses count as IPv4.
pub fn address_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.into(),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                std::net::Ipv6Addr::from(segments).into()
            }
        },
        v4 => v4,
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
    fn attempts_are_counted_before_they_finish() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        // Three parallel attempts pass, the fourth must wait although none has failed yet.
        assert!((0..3).all(|_| limiter.try_attempt(&"k").is_none()));
        assert!(limiter.try_attempt(&"k").is_some());
        limiter.forgive(&"k");
        assert!(limiter.try_attempt(&"k").is_none(), "a success gives its attempt back");
        let accounts = BackoffLimiter::new(2, Duration::from_secs(5), Duration::from_secs(60));
        assert!(accounts.try_attempt(&"a").is_none() && accounts.try_attempt(&"a").is_none());
        assert!(accounts.try_attempt(&"a").is_some());
    }

    #[test]
    fn ipv6_addresses_share_their_slash_64() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: std::net::IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: std::net::IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1".parse::<std::net::IpAddr>().unwrap());
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
