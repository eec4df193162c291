//! Brute-force defence. The policy (docs/security.md, "Login limits"): throttle the attacker,
//! not the owner. Failures are counted per client address, per (account, client address), and
//! per account across all clients; a client is only ever held back by its *own* failures, so a
//! correct password from a client that is not failing is never refused. When an account is
//! under a distributed attack (many failing clients), each client gets a single try before its
//! own delays start — still without touching clients that do not fail.
//!
//! Every wait is answered at once with 429 and `Retry-After`, never by holding a connection,
//! never by a permanent lockout. The state lives behind [`LoginLimits`], so a store shared by
//! the nodes of a cluster (e.g. Redis) can replace [`MemoryLoginLimits`] later. Every map is
//! bounded ([`Buckets`]): drained entries are pruned, and past a hard cap the oldest are evicted.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, drained entries are pruned.
const PRUNE_ABOVE: usize = 10_000;

/// One password attempt: the client (its [`address_key`]) and the account it names (the
/// canonical username, or what was typed for a name that matches no account).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub client: IpAddr,
    pub account: String,
}

impl Attempt {
    pub fn new(client: IpAddr, account: impl Into<String>) -> Self {
        Self { client: address_key(client), account: account.into() }
    }
}

/// Why an attempt must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// The client has failed too often, whatever accounts it named.
    Client(Duration),
    /// The client has failed too often on this account.
    AccountFromClient(Duration),
}

impl Throttled {
    pub fn wait(self) -> Duration {
        match self {
            Self::Client(wait) | Self::AccountFromClient(wait) => wait,
        }
    }

    /// The 429 answer: `Retry-After` and a sentence saying whose failures it is about.
    pub fn into_error(self) -> common::http::ApiError {
        let secs = retry_after_secs(self.wait());
        let detail = match self {
            Self::Client(_) => {
                format!(
                    "Too many failed logins, password changes or taken email addresses from your address; try again in {secs} seconds"
                )
            }
            Self::AccountFromClient(_) => format!(
                "Too many failed logins for this account from your address; try again in {secs} seconds"
            ),
        };
        common::http::ApiError::too_many_requests_with(secs, detail)
    }
}

pub type LimitFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the login limits keep their counters. [`MemoryLoginLimits`] serves one node; a shared
/// store for a cluster implements the same three calls.
pub trait LoginLimits: Send + Sync {
    /// Checks and counts `attempt` in one step, before the password is verified (so parallel
    /// guesses cannot outrun the limits): `Err` if it must wait.
    fn begin<'a>(&'a self, attempt: &'a Attempt) -> LimitFuture<'a, Result<(), Throttled>>;
    /// The outcome of an attempt that [`begin`](Self::begin) let through.
    fn finish<'a>(&'a self, attempt: &'a Attempt, correct: bool) -> LimitFuture<'a, ()>;
    /// Gives back an attempt that [`begin`](Self::begin) counted but that was never checked
    /// (the server was busy): neither a failure nor a success.
    fn cancel<'a>(&'a self, attempt: &'a Attempt) -> LimitFuture<'a, ()>;
    /// How long a client that is failing logins must wait before anything else that proves a
    /// secret (a refresh token); `None` if it may go now. `client` is an [`address_key`].
    fn client_wait(&self, client: IpAddr) -> LimitFuture<'_, Option<Duration>>;
    /// Counts a failure of a client outside a login (a bad refresh token).
    fn client_failed(&self, client: IpAddr) -> LimitFuture<'_, ()>;
    /// Checks and counts one failure of a client outside a login in one step (a password
    /// change, an email change that may find the address taken), so parallel requests cannot
    /// all pass the check: `Err` if it must wait. [`client_cancel`](Self::client_cancel) gives
    /// the count back when the request turned out harmless.
    fn client_begin(&self, client: IpAddr) -> LimitFuture<'_, Result<(), Throttled>>;
    /// Gives back a count of [`client_begin`](Self::client_begin).
    fn client_cancel(&self, client: IpAddr) -> LimitFuture<'_, ()>;
}

/// The settings of the login limits.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    /// Failures per client address per minute (a leaky bucket).
    pub client_failures_per_minute: u32,
    /// Failures on one account from one client before that client's delays start.
    pub account_client_failures_before_delay: u32,
    /// Failures on one account from all clients per hour before each client gets one try.
    pub account_failures_per_hour: u32,
    /// Delays grow from `base` by doubling to `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// Hard cap on the keys each map tracks.
    pub max_keys: usize,
}

/// The login limits in this process's memory.
pub struct MemoryLoginLimits {
    policy: LoginPolicy,
    clients: FailureLimiter<IpAddr>,
    pairs: BackoffLimiter<(String, IpAddr)>,
    accounts: FailureLimiter<String>,
}

impl MemoryLoginLimits {
    pub fn new(policy: LoginPolicy) -> Self {
        Self {
            clients: FailureLimiter::with_cap(
                policy.client_failures_per_minute,
                Duration::from_secs(60),
                policy.max_keys,
            ),
            pairs: BackoffLimiter::with_cap(
                policy.account_client_failures_before_delay,
                policy.base,
                policy.cap,
                policy.max_keys,
            ),
            accounts: FailureLimiter::with_cap(
                policy.account_failures_per_hour,
                Duration::from_secs(3600),
                policy.max_keys,
            ),
            policy,
        }
    }

    /// How many keys the maps track (for tests of the cap).
    pub fn tracked(&self) -> [usize; 3] {
        [self.clients.tracked(), self.pairs.tracked(), self.accounts.tracked()]
    }

    fn begin_now(&self, attempt: &Attempt) -> Result<(), Throttled> {
        if let Some(wait) = self.clients.try_attempt(&attempt.client) {
            return Err(Throttled::Client(wait));
        }
        let under_attack = self.accounts.wait_time(&attempt.account).is_some();
        let free = if under_attack { 1 } else { self.policy.account_client_failures_before_delay };
        let pair = (attempt.account.clone(), attempt.client);
        if let Some(wait) = self.pairs.try_attempt_with(&pair, free) {
            self.clients.forgive(&attempt.client);
            return Err(Throttled::AccountFromClient(wait));
        }
        Ok(())
    }

    fn finish_now(&self, attempt: &Attempt, correct: bool) {
        if correct {
            self.clients.forgive(&attempt.client);
            self.pairs.reset(&(attempt.account.clone(), attempt.client));
        } else {
            self.accounts.record_failure(&attempt.account);
        }
    }
}

impl LoginLimits for MemoryLoginLimits {
    fn begin<'a>(&'a self, attempt: &'a Attempt) -> LimitFuture<'a, Result<(), Throttled>> {
        Box::pin(std::future::ready(self.begin_now(attempt)))
    }

    fn finish<'a>(&'a self, attempt: &'a Attempt, correct: bool) -> LimitFuture<'a, ()> {
        self.finish_now(attempt, correct);
        Box::pin(std::future::ready(()))
    }

    fn cancel<'a>(&'a self, attempt: &'a Attempt) -> LimitFuture<'a, ()> {
        self.clients.forgive(&attempt.client);
        self.pairs.forgive(&(attempt.account.clone(), attempt.client));
        Box::pin(std::future::ready(()))
    }

    fn client_wait(&self, client: IpAddr) -> LimitFuture<'_, Option<Duration>> {
        Box::pin(std::future::ready(self.clients.wait_time(&client)))
    }

    fn client_failed(&self, client: IpAddr) -> LimitFuture<'_, ()> {
        self.clients.record_failure(&client);
        Box::pin(std::future::ready(()))
    }

    fn client_begin(&self, client: IpAddr) -> LimitFuture<'_, Result<(), Throttled>> {
        let result = match self.clients.try_attempt(&client) {
            Some(wait) => Err(Throttled::Client(wait)),
            None => Ok(()),
        };
        Box::pin(std::future::ready(result))
    }

    fn client_cancel(&self, client: IpAddr) -> LimitFuture<'_, ()> {
        self.clients.forgive(&client);
        Box::pin(std::future::ready(()))
    }
}

pub struct FailureLimiter<K> {
    allowance: f64,
    drain_per_sec: f64,
    buckets: Mutex<Buckets<K, f64>>,
}

/// A bounded map of limiter entries, each with the instant it last changed. It prunes drained
/// entries only when it has doubled since the last pruning, so a flood of new keys costs
/// amortised O(1) per insert, never a scan per request; and at its hard cap it evicts the
/// least recently changed quarter in one pass (also amortised O(1)), so memory stays bounded
/// whatever the traffic.
struct Buckets<K, V> {
    map: HashMap<K, (V, Instant)>,
    prune_at: usize,
    cap: usize,
}

impl<K: Eq + Hash + Clone, V> Buckets<K, V> {
    fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Self { map: HashMap::new(), prune_at: PRUNE_ABOVE.min(cap), cap }
    }

    /// The entry of `key`, made with `new` (after making room) if there is none.
    fn entry(
        &mut self,
        key: &K,
        keep: impl FnMut(&K, &mut (V, Instant)) -> bool,
        new: impl FnOnce() -> V,
    ) -> &mut (V, Instant) {
        if !self.map.contains_key(key) {
            self.make_room(keep);
        }
        self.map.entry(key.clone()).or_insert_with(|| (new(), Instant::now()))
    }

    fn make_room(&mut self, keep: impl FnMut(&K, &mut (V, Instant)) -> bool) {
        if self.map.len() >= self.prune_at {
            self.map.retain(keep);
            self.prune_at = (self.map.len() * 2).max(PRUNE_ABOVE).min(self.cap);
        }
        if self.map.len() >= self.cap {
            // Keep the most recently changed three quarters.
            let target = self.cap * 3 / 4;
            let mut times: Vec<Instant> = self.map.values().map(|(_, at)| *at).collect();
            let evict = times.len() - target;
            let (_, cutoff, _) = times.select_nth_unstable(evict - 1);
            let cutoff = *cutoff;
            self.map.retain(|_, (_, at)| *at > cutoff);
            tracing::warn!(
                cap = self.cap,
                kept = self.map.len(),
                "a login limiter map is full; evicted its oldest entries"
            );
        }
    }
}

impl<K: Eq + Hash + Clone> FailureLimiter<K> {
    /// `allowance` failures are free; the level drains by `allowance` per `window`.
    pub fn new(allowance: u32, window: Duration) -> Self {
        Self::with_cap(allowance, window, DEFAULT_MAX_KEYS)
    }

    /// As [`new`](Self::new), tracking at most `max_keys` keys.
    pub fn with_cap(allowance: u32, window: Duration, max_keys: usize) -> Self {
        let allowance = f64::from(allowance.max(1));
        Self {
            allowance,
            drain_per_sec: allowance / window.as_secs_f64(),
            buckets: Mutex::new(Buckets::new(max_keys)),
        }
    }

    pub fn tracked(&self) -> usize {
        self.buckets.lock().expect("limiter lock poisoned").map.len()
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
        let entry = buckets.entry(key, |_, (level, at)| self.drained(*level, *at) > 0.0, || 0.0);
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
        let entry = buckets.entry(key, |_, (level, at)| self.drained(*level, *at) > 0.0, || 0.0);
        *entry = (self.drained(entry.0, entry.1) + 1.0, now);
    }

    fn drained(&self, level: f64, since: Instant) -> f64 {
        (level - since.elapsed().as_secs_f64() * self.drain_per_sec).max(0.0)
    }
}

/// The default hard cap on the keys a limiter map tracks.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Delays that grow with consecutive failures: after `free` failures each further attempt
/// waits `base · 2^(failures − free)` after the previous failure, capped at `cap`. The count
/// resets on success and is forgotten after a day without failures, so a key is never locked
/// for good.
pub struct BackoffLimiter<K> {
    free: u32,
    base: Duration,
    cap: Duration,
    failures: Mutex<Buckets<K, u32>>,
}

const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

impl<K: Eq + Hash + Clone> BackoffLimiter<K> {
    pub fn new(free: u32, base: Duration, cap: Duration) -> Self {
        Self::with_cap(free, base, cap, DEFAULT_MAX_KEYS)
    }

    pub fn with_cap(free: u32, base: Duration, cap: Duration, max_keys: usize) -> Self {
        Self { free: free.max(1), base, cap, failures: Mutex::new(Buckets::new(max_keys)) }
    }

    pub fn tracked(&self) -> usize {
        self.failures.lock().expect("limiter lock poisoned").map.len()
    }

    /// How long `key` must still wait; `None` if it may try now.
    pub fn wait_time(&self, key: &K) -> Option<Duration> {
        let failures = self.failures.lock().expect("limiter lock poisoned");
        let (count, last) = failures.map.get(key)?;
        self.wait_for(*count, *last, self.free)
    }

    fn wait_for(&self, count: u32, last: Instant, free: u32) -> Option<Duration> {
        if count < free || last.elapsed() >= FORGET_AFTER {
            return None;
        }
        let exponent = (count - free).min(20);
        let delay = self.base.saturating_mul(1 << exponent).min(self.cap);
        delay.checked_sub(last.elapsed()).filter(|d| !d.is_zero())
    }

    /// Checks and counts in one step: `Some(wait)` if `key` must wait, otherwise the attempt
    /// counts as a failure until [`reset`](Self::reset) (a success) clears the count.
    pub fn try_attempt(&self, key: &K) -> Option<Duration> {
        self.try_attempt_with(key, self.free)
    }

    /// As [`try_attempt`](Self::try_attempt) with `free` failures before delays (at most the
    /// configured number).
    pub fn try_attempt_with(&self, key: &K, free: u32) -> Option<Duration> {
        let free = free.clamp(1, self.free);
        let mut failures = self.failures.lock().expect("limiter lock poisoned");
        let now = Instant::now();
        let entry = failures.entry(key, |_, (_, last)| last.elapsed() < FORGET_AFTER, || 0);
        if let Some(wait) = self.wait_for(entry.0, entry.1, free) {
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
        let entry = failures.entry(key, |_, (_, last)| last.elapsed() < FORGET_AFTER, || 0);
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), Instant::now());
    }

    /// Takes back one counted attempt (it was never checked).
    pub fn forgive(&self, key: &K) {
        let mut failures = self.failures.lock().expect("limiter lock poisoned");
        let emptied = failures.map.get_mut(key).is_some_and(|entry| {
            entry.0 = entry.0.saturating_sub(1);
            entry.0 == 0
        });
        // An attempt given back leaves nothing behind: otherwise attempts answered "busy"
        // would fill the map for free and push older entries out early.
        if emptied {
            failures.map.remove(key);
        }
    }

    pub fn reset(&self, key: &K) {
        self.failures.lock().expect("limiter lock poisoned").map.remove(key);
    }
}
pub use common::http::address_key;

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
    fn an_attempt_given_back_leaves_no_entry() {
        let pairs = BackoffLimiter::new(2, Duration::from_secs(5), Duration::from_secs(60));
        for key in 0..100 {
            assert!(pairs.try_attempt(&key).is_none());
            pairs.forgive(&key);
        }
        assert_eq!(pairs.tracked(), 0, "busy answers must not fill the map");
        pairs.record_failure(&7);
        assert!(pairs.try_attempt(&7).is_none());
        pairs.forgive(&7);
        assert_eq!(pairs.tracked(), 1, "a real failure is kept");
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

    fn policy(max_keys: usize) -> LoginPolicy {
        LoginPolicy {
            client_failures_per_minute: 1_000_000,
            account_client_failures_before_delay: 3,
            account_failures_per_hour: 1_000_000,
            base: Duration::from_secs(5),
            cap: Duration::from_secs(60),
            max_keys,
        }
    }

    #[test]
    fn many_accounts_do_not_grow_the_maps_past_the_cap() {
        let limits = MemoryLoginLimits::new(policy(100));
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..5_000 {
            let attempt = Attempt::new(client, format!("account{i}"));
            assert!(limits.begin_now(&attempt).is_ok());
            limits.finish_now(&attempt, false);
            assert!(limits.tracked().iter().all(|&n| n <= 100), "{:?} after {i}", limits.tracked());
        }
        // Many clients too.
        for i in 0..5_000u32 {
            let attempt = Attempt::new(IpAddr::from(i.to_be_bytes()), "one");
            let _ = limits.begin_now(&attempt);
            limits.finish_now(&attempt, false);
        }
        assert!(limits.tracked().iter().all(|&n| n <= 100), "{:?}", limits.tracked());
        // Eviction takes the oldest: the most recent account is still throttled.
        let recent = Attempt::new(client, "recent");
        for _ in 0..3 {
            assert!(limits.begin_now(&recent).is_ok());
            limits.finish_now(&recent, false);
        }
        assert!(matches!(limits.begin_now(&recent), Err(Throttled::AccountFromClient(_))));
    }

    #[test]
    fn only_the_failing_client_waits() {
        let limits = MemoryLoginLimits::new(policy(1_000));
        let attacker = Attempt::new("192.0.2.1".parse().unwrap(), "alice");
        let owner = Attempt::new("192.0.2.2".parse().unwrap(), "alice");
        for _ in 0..3 {
            assert!(limits.begin_now(&attacker).is_ok());
            limits.finish_now(&attacker, false);
        }
        assert!(matches!(limits.begin_now(&attacker), Err(Throttled::AccountFromClient(_))));
        assert!(limits.begin_now(&owner).is_ok());
        limits.finish_now(&owner, true);
        assert!(limits.begin_now(&attacker).is_err(), "the owner's success does not free the attacker");
    }
}
