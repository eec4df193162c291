//! The chat service's own metrics (besides the HTTP ones every service has, `common::metrics`):
//! replies by status and model, tokens by model and provider, time to first token and reply
//! duration, provider errors by kind, and — read when scraped — open WebSockets, the local
//! model's queue and the database pool. Model labels are only models a provider offers (any
//! other is `other`), so no client can grow the label set.

use std::time::Duration;

use api_types::chat::MessageStatus;
use llm::LlmError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use common::metrics::NewHistogram;

/// Seconds, for time to first token and reply duration.
const REPLY_BUCKETS: [f64; 12] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0, 120.0, 300.0];

fn reply_histogram() -> Histogram {
    Histogram::new(REPLY_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyLabels {
    status: &'static str,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    provider: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderErrorLabels {
    provider: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

/// How one reply went, for the metrics.
pub struct ReplyRecord<'a> {
    pub status: MessageStatus,
    /// The model as a label (see [`ChatMetrics::model_label`]).
    pub model: &'a str,
    pub provider: Option<&'a str>,
    pub usage: Option<llm::Usage>,
    pub first_token: Option<Duration>,
    pub duration: Option<Duration>,
}

pub struct ChatMetrics {
    replies: Family<ReplyLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    first_token: Family<ModelLabels, Histogram, NewHistogram>,
    duration: Family<ModelLabels, Histogram, NewHistogram>,
    provider_errors: Family<ProviderErrorLabels, Counter>,
    websockets: Gauge,
    local_queue: Family<ProviderLabels, Gauge>,
    db_connections: Gauge,
    db_idle: Gauge,
}

impl ChatMetrics {
    /// Registers the chat service's metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            replies: Family::default(),
            tokens: Family::default(),
            first_token: Family::new_with_constructor(reply_histogram),
            duration: Family::new_with_constructor(reply_histogram),
            provider_errors: Family::default(),
            websockets: Gauge::default(),
            local_queue: Family::default(),
            db_connections: Gauge::default(),
            db_idle: Gauge::default(),
        };
        registry.register("replies", "Replies ended, by status and model", metrics.replies.clone());
        registry.register(
            "tokens",
            "Tokens the providers reported, by model, provider and kind (prompt or completion)",
            metrics.tokens.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "From the request to the model to the reply's first text, by model",
            metrics.first_token.clone(),
        );
        registry.register(
            "reply_duration_seconds",
            "From the request to the model to the reply's end, tool calls included, by model",
            metrics.duration.clone(),
        );
        registry.register(
            "provider_errors",
            "Failed requests to model providers, by provider and kind",
            metrics.provider_errors.clone(),
        );
        registry.register("websockets_open", "Open WebSockets", metrics.websockets.clone());
        registry.register(
            "local_model_queue",
            "Requests waiting for the embedded local model, by provider",
            metrics.local_queue.clone(),
        );
        registry.register("db_connections", "Database connections open", metrics.db_connections.clone());
        registry.register(
            "db_connections_idle",
            "Database connections open and idle",
            metrics.db_idle.clone(),
        );
        metrics
    }

    /// `model` if a provider offers it now, else `other`.
    pub fn model_label(registry: &llm::Registry, model: &str) -> String {
        match registry.models().iter().any(|m| m.id == model) {
            true => model.to_owned(),
            false => "other".to_owned(),
        }
    }

    pub fn reply_ended(&self, reply: &ReplyRecord<'_>) {
        let model = reply.model.to_owned();
        let status = status_label(reply.status);
        self.replies.get_or_create(&ReplyLabels { status, model: model.clone() }).inc();
        if let (Some(usage), Some(provider)) = (reply.usage, reply.provider) {
            for (kind, count) in [("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens)] {
                let labels = TokenLabels { model: model.clone(), provider: provider.to_owned(), kind };
                self.tokens.get_or_create(&labels).inc_by(u64::from(count));
            }
        }
        let labels = ModelLabels { model };
        if let Some(first) = reply.first_token {
            self.first_token.get_or_create(&labels).observe(first.as_secs_f64());
        }
        if let Some(duration) = reply.duration {
            self.duration.get_or_create(&labels).observe(duration.as_secs_f64());
        }
    }

    pub fn provider_failed(&self, provider: &str, error: &LlmError) {
        let labels = ProviderErrorLabels { provider: provider.to_owned(), kind: error_kind(error) };
        self.provider_errors.get_or_create(&labels).inc();
    }

    /// What is read when scraped.
    pub fn set_current(&self, websockets: usize, local_queues: &[(String, usize)], db: (u32, usize)) {
        self.websockets.set(i64::try_from(websockets).unwrap_or(i64::MAX));
        for (provider, queued) in local_queues {
            let labels = ProviderLabels { provider: provider.clone() };
            self.local_queue.get_or_create(&labels).set(i64::try_from(*queued).unwrap_or(i64::MAX));
        }
        self.db_connections.set(i64::from(db.0));
        self.db_idle.set(i64::try_from(db.1).unwrap_or(i64::MAX));
    }
}

fn status_label(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Complete => "complete",
        MessageStatus::Incomplete => "incomplete",
        MessageStatus::Cancelled => "cancelled",
        MessageStatus::Failed => "failed",
        MessageStatus::Interrupted => "interrupted",
        MessageStatus::Streaming => "streaming",
    }
}

fn error_kind(error: &LlmError) -> &'static str {
    match error {
        LlmError::NotConfigured => "not_configured",
        LlmError::Local(_) => "local",
        LlmError::UnknownModel(_) => "unknown_model",
        LlmError::Timeout => "timeout",
        LlmError::Connect => "connect",
        LlmError::Unauthorized => "unauthorized",
        LlmError::RateLimited => "rate_limited",
        LlmError::Upstream { .. } => "upstream",
        LlmError::Stream(_) => "stream",
    }
}
