//! Every configured provider, the models each offers, and which serves which model.
//!
//! Model lists are read in the background, never on a request's path: at start, again every
//! `refresh_every`, at once on [`Registry::refresh`], and — while a provider cannot be reached
//! — with a backoff from one second up to a minute. A provider that fails keeps the models it
//! last listed (so conversations using them keep routing) and is shown as unreachable since
//! its first failure.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, watch};

use crate::catalog::{is_chat_model, matches_any, preferred};
use crate::{LlmError, Provider};

/// Longest wait for one listing of a provider's models.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// Bounds on what a provider may list (a hostile or broken upstream cannot flood us).
const MAX_MODELS_PER_PROVIDER: usize = 5000;
const MAX_MODEL_ID_CHARS: usize = 200;

/// A model a conversation can pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: String,
    pub provider: String,
}

/// Which of a provider's models are offered.
#[derive(Debug, Clone, Default)]
pub struct ModelFilter {
    /// Offered as given, in this order, without asking the provider.
    pub fixed: Vec<String>,
    /// When not empty, only listed models matching one of these globs (`*`, `?`).
    pub allow: Vec<String>,
    /// Listed models matching one of these globs are left out.
    pub deny: Vec<String>,
    /// Leave models that cannot chat (embeddings, speech, images, …) out of the offer; they
    /// still route when a conversation names one.
    pub hide_non_chat: bool,
}

/// One provider and how its models are offered.
pub struct ProviderEntry {
    pub provider: Arc<dyn Provider>,
    pub filter: ModelFilter,
    /// Used as the default only when no other provider offers a chat model (the local model).
    pub last_resort: bool,
}

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// The model of conversations that name none, whatever the providers list.
    pub default_model: Option<String>,
    /// How often model lists are read again.
    pub refresh_every: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self { default_model: None, refresh_every: Duration::from_secs(600) }
    }
}

/// Whether a provider's model list could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderHealth {
    /// Not asked yet, or the first answer is still awaited.
    Pending,
    Ok,
    /// Unreachable since this instant (unix milliseconds), for this reason.
    Unreachable {
        since_ms: i64,
        error: String,
    },
}

/// A provider as `GET /models` shows it.
#[derive(Debug, Clone)]
pub struct ProviderStatus {
    pub name: String,
    pub health: ProviderHealth,
    /// Models offered.
    pub models: usize,
    /// Models listed but left out of the offer as non-chat models.
    pub hidden: usize,
    /// When the list was last read successfully (unix milliseconds).
    pub refreshed_ms: Option<i64>,
}

#[derive(Clone, Default)]
struct Listing {
    /// Every routable model (allowed and not denied), offered or not.
    routable: Vec<String>,
    /// The offered ones, in display order.
    offered: Vec<String>,
    health: Option<ProviderHealth>,
    refreshed_ms: Option<i64>,
}

#[derive(Default)]
struct Snapshot {
    models: Vec<ModelInfo>,
    by_model: HashMap<String, usize>,
    default_model: Option<String>,
    listings: Vec<Listing>,
}

struct Inner {
    entries: Vec<ProviderEntry>,
    options: RegistryOptions,
    snapshot: RwLock<Snapshot>,
    /// Wakes every provider's refresh loop at once (shared with the loops, which hold no
    /// strong reference to the registry while they wait).
    refresh_now: Arc<Notify>,
    /// Refreshes asked for so far.
    requested: AtomicU64,
    /// Per provider: the newest request its latest listing (or failure) answers; also bumped
    /// when a first answer arrives, so callers can wait for either.
    answered: watch::Sender<Vec<u64>>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self.tasks.get_mut().map(std::mem::take).unwrap_or_default() {
            task.abort();
        }
    }
}

/// Every configured provider, and which serves which model. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// Starts reading every provider's models in the background (providers with a fixed list
    /// are not asked). Call [`ready`](Self::ready) to wait for the first answers.
    pub fn start(entries: Vec<ProviderEntry>, options: RegistryOptions) -> Self {
        let listings = entries
            .iter()
            .map(|entry| {
                let fixed = &entry.filter.fixed;
                Listing {
                    routable: fixed.clone(),
                    offered: fixed.clone(),
                    health: (!fixed.is_empty()).then_some(ProviderHealth::Ok),
                    refreshed_ms: (!fixed.is_empty()).then(now_ms),
                }
            })
            .collect();
        let providers = entries.len();
        let inner = Arc::new(Inner {
            entries,
            options,
            snapshot: RwLock::new(Snapshot { listings, ..Snapshot::default() }),
            refresh_now: Arc::new(Notify::new()),
            requested: AtomicU64::new(0),
            answered: watch::channel(vec![0; providers]).0,
            tasks: std::sync::Mutex::new(Vec::new()),
        });
        rebuild(&inner);
        let tasks: Vec<_> = (0..inner.entries.len())
            .filter(|&i| inner.entries[i].filter.fixed.is_empty())
            .map(|i| tokio::spawn(refresh_loop(Arc::downgrade(&inner), inner.refresh_now.clone(), i)))
            .collect();
        *inner.tasks.lock().expect("registry tasks lock") = tasks;
        Self { inner }
    }

    /// Waits until every provider has answered once (or failed once), at most `timeout`.
    pub async fn ready(&self, timeout: Duration) {
        let mut answered = self.inner.answered.subscribe();
        let all_answered = |inner: &Inner| {
            inner.snapshot.read().expect("registry lock").listings.iter().all(|l| l.health.is_some())
        };
        let _ = tokio::time::timeout(timeout, async {
            while !all_answered(&self.inner) {
                if answered.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }

    /// Reads every provider's models again now, and waits for the answers (at most `timeout`).
    pub async fn refresh(&self, timeout: Duration) {
        let request = self.inner.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut answered = self.inner.answered.subscribe();
        self.inner.refresh_now.notify_waiters();
        let listed: Vec<usize> = (0..self.inner.entries.len())
            .filter(|&i| self.inner.entries[i].filter.fixed.is_empty())
            .collect();
        let done = |answers: &Vec<u64>| listed.iter().all(|&i| answers[i] >= request);
        let _ = tokio::time::timeout(timeout, answered.wait_for(done)).await;
    }

    /// The offered models: provider by provider, in configuration order.
    pub fn models(&self) -> Vec<ModelInfo> {
        self.inner.snapshot.read().expect("registry lock").models.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// The model of conversations that name none (see `docs/models.md`).
    pub fn default_model(&self) -> Option<String> {
        self.inner.snapshot.read().expect("registry lock").default_model.clone()
    }

    /// Each provider's state, in configuration order.
    pub fn providers(&self) -> Vec<ProviderStatus> {
        let snapshot = self.inner.snapshot.read().expect("registry lock");
        self.inner
            .entries
            .iter()
            .zip(&snapshot.listings)
            .map(|(entry, listing)| ProviderStatus {
                name: entry.provider.name().to_owned(),
                health: listing.health.clone().unwrap_or(ProviderHealth::Pending),
                models: listing.offered.len(),
                hidden: listing.routable.len() - listing.offered.len(),
                refreshed_ms: listing.refreshed_ms,
            })
            .collect()
    }

    /// The providers that queue requests, and how many wait now.
    pub fn queues(&self) -> Vec<(String, usize)> {
        let entries = self.inner.entries.iter();
        entries.filter_map(|e| e.provider.queued().map(|n| (e.provider.name().to_owned(), n))).collect()
    }

    /// The provider that serves `model`.
    pub fn provider_for(&self, model: &str) -> Result<Arc<dyn Provider>, LlmError> {
        if self.inner.entries.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        let snapshot = self.inner.snapshot.read().expect("registry lock");
        snapshot
            .by_model
            .get(model)
            .map(|&i| self.inner.entries[i].provider.clone())
            .ok_or_else(|| LlmError::UnknownModel(model.chars().take(100).collect()))
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Reads one provider's models now, then again on schedule, on demand, or after a backoff.
async fn refresh_loop(registry: Weak<Inner>, refresh_now: Arc<Notify>, index: usize) {
    let mut retry = RETRY_FIRST;
    loop {
        let Some(inner) = registry.upgrade() else { return };
        let provider = inner.entries[index].provider.clone();
        let wake = refresh_now.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        // Asked for before this listing starts: answered by it.
        let request = inner.requested.load(Ordering::SeqCst);
        drop(inner);
        let listed = match tokio::time::timeout(LIST_TIMEOUT, provider.models()).await {
            Ok(result) => result,
            Err(_) => Err(LlmError::Timeout),
        };
        let Some(inner) = registry.upgrade() else { return };
        let next = match listed {
            Ok(ids) => {
                retry = RETRY_FIRST;
                store_listing(&inner, index, ids);
                inner.options.refresh_every
            }
            Err(error) => {
                let name = provider.name().to_owned();
                store_failure(&inner, index, &error);
                tracing::warn!(provider = %name, error = %error, retry_in = ?retry, "cannot list the provider's models");
                let wait = retry;
                retry = (retry * 2).min(RETRY_MAX);
                wait
            }
        };
        inner.answered.send_modify(|answers| answers[index] = answers[index].max(request));
        drop(inner);
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = wake => {}
        }
    }
}

fn store_listing(inner: &Inner, index: usize, ids: Vec<String>) {
    let filter = &inner.entries[index].filter;
    let mut routable: Vec<String> = ids
        .into_iter()
        .filter(|id| !id.is_empty() && id.chars().count() <= MAX_MODEL_ID_CHARS)
        .filter(|id| !id.chars().any(char::is_control))
        .filter(|id| filter.allow.is_empty() || matches_any(id, &filter.allow))
        .filter(|id| !matches_any(id, &filter.deny))
        .take(MAX_MODELS_PER_PROVIDER)
        .collect();
    routable.sort();
    routable.dedup();
    let offered = routable.iter().filter(|id| !filter.hide_non_chat || is_chat_model(id)).cloned().collect();
    {
        let mut snapshot = inner.snapshot.write().expect("registry lock");
        let listing = &mut snapshot.listings[index];
        listing.routable = routable;
        listing.offered = offered;
        listing.health = Some(ProviderHealth::Ok);
        listing.refreshed_ms = Some(now_ms());
    }
    rebuild(inner);
}

fn store_failure(inner: &Inner, index: usize, error: &LlmError) {
    let mut snapshot = inner.snapshot.write().expect("registry lock");
    let listing = &mut snapshot.listings[index];
    let since_ms = match &listing.health {
        Some(ProviderHealth::Unreachable { since_ms, .. }) => *since_ms,
        _ => now_ms(),
    };
    listing.health = Some(ProviderHealth::Unreachable { since_ms, error: error.to_string() });
}

/// Recomputes the offered models, the routing table and the default from the listings.
fn rebuild(inner: &Inner) {
    let mut snapshot = inner.snapshot.write().expect("registry lock");
    let mut models = Vec::new();
    let mut by_model = HashMap::new();
    for (index, (entry, listing)) in inner.entries.iter().zip(&snapshot.listings).enumerate() {
        for id in &listing.routable {
            // A model offered by two providers goes to the first.
            by_model.entry(id.clone()).or_insert(index);
        }
        for id in &listing.offered {
            if by_model.get(id) == Some(&index) {
                models.push(ModelInfo { id: id.clone(), provider: entry.provider.name().to_owned() });
            }
        }
    }
    let default_model = inner.options.default_model.clone().or_else(|| {
        let offered = |last_resort: bool| {
            inner
                .entries
                .iter()
                .zip(&snapshot.listings)
                .filter(move |(entry, _)| entry.last_resort == last_resort)
        };
        // A configured list's first entry, else the preferred chat model, else any chat model,
        // else the last resort's.
        let configured = offered(false).find_map(|(entry, _)| entry.filter.fixed.first().cloned());
        let chat: Vec<&str> = offered(false)
            .flat_map(|(_, listing)| listing.offered.iter().map(String::as_str))
            .filter(|id| is_chat_model(id))
            .collect();
        configured
            .or_else(|| preferred(chat.iter().copied()).map(str::to_owned))
            .or_else(|| chat.first().map(|id| (*id).to_owned()))
            .or_else(|| offered(true).find_map(|(_, listing)| listing.offered.first().cloned()))
    });
    snapshot.models = models;
    snapshot.by_model = by_model;
    snapshot.default_model = default_model;
}
