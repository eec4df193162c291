//! The resource-server side of the auth server's revocation feed (`GET /auth/revocations`):
//! polled every few seconds, so a password change, role change, disabling, deletion or logout
//! voids existing access tokens here within seconds instead of at their expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::token::AccessClaims;

/// Longer than any access token lives: older entries concern only expired tokens.
const FORGET_AFTER: Duration = Duration::from_secs(2 * 3600);

#[derive(Deserialize)]
struct Feed {
    next: i64,
    revocations: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    kind: String,
    subject: String,
    not_before: i64,
}

#[derive(Default)]
struct Known {
    /// User id → (tokens issued before this are void, when learned).
    users: HashMap<String, (i64, Instant)>,
    /// Ended session ids → when learned.
    sessions: HashMap<String, Instant>,
}

pub struct RevocationList {
    url: String,
    /// Presented as a bearer token: the feed is for resource servers only.
    secret: String,
    client: reqwest::Client,
    known: RwLock<Known>,
    next: Mutex<Option<i64>>,
    synced: AtomicBool,
    /// The last successful read (or the start, before the first).
    last_read: Mutex<Instant>,
}

impl RevocationList {
    pub fn new(url: &str, secret: &str) -> Arc<Self> {
        Arc::new(Self {
            url: url.to_owned(),
            secret: secret.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a plain reqwest client always builds"),
            known: RwLock::new(Known::default()),
            next: Mutex::new(None),
            synced: AtomicBool::new(false),
            last_read: Mutex::new(Instant::now()),
        })
    }

    /// Whether the feed has been read at least once.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    /// How long since the feed was last read successfully (since the start, before the first
    /// read): beyond a few seconds, a revoked token might pass unnoticed.
    pub fn staleness(&self) -> Duration {
        self.last_read.lock().expect("revocations lock poisoned").elapsed()
    }

    /// Whether the token's user was cut off after it was issued, or its session ended.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        let known = self.known.read().expect("revocations lock poisoned");
        known.users.get(&claims.sub).is_some_and(|(not_before, _)| claims.iat < *not_before)
            || known.sessions.contains_key(&claims.sid)
    }

    /// Reads what is new in the feed.
    pub async fn poll(&self) -> Result<(), reqwest::Error> {
        let since = *self.next.lock().expect("revocations lock poisoned");
        let mut request = self.client.get(&self.url).bearer_auth(&self.secret);
        if let Some(since) = since {
            request = request.query(&[("since", since)]);
        }
        let feed: Feed = request.send().await?.error_for_status()?.json().await?;
        let now = Instant::now();
        let mut known = self.known.write().expect("revocations lock poisoned");
        for entry in feed.revocations {
            match entry.kind.as_str() {
                "user" => {
                    let slot = known.users.entry(entry.subject).or_insert((entry.not_before, now));
                    if entry.not_before >= slot.0 {
                        *slot = (entry.not_before, now);
                    }
                }
                "session" => {
                    known.sessions.insert(entry.subject, now);
                }
                _ => {}
            }
        }
        known.users.retain(|_, (_, learned)| learned.elapsed() < FORGET_AFTER);
        known.sessions.retain(|_, learned| learned.elapsed() < FORGET_AFTER);
        *self.next.lock().expect("revocations lock poisoned") = Some(feed.next);
        self.synced.store(true, Ordering::Relaxed);
        *self.last_read.lock().expect("revocations lock poisoned") = Instant::now();
        Ok(())
    }

    /// Polls every `every` until the task is aborted.
    pub fn spawn_poller(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                match self.poll().await {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!("revocation feed reachable again");
                    }
                    Ok(()) => {}
                    Err(error) if !failing => {
                        failing = true;
                        tracing::warn!(url = %self.url, %error, "cannot read the auth server's revocation feed");
                    }
                    Err(_) => {}
                }
            }
        })
    }
}
