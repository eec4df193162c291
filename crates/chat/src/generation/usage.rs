//! What a reply used — tokens, time to its first text, duration — counted in the metrics and
//! added to its owner's use of the day when it ends.

use std::time::Duration;

use api_types::chat::MessageStatus;

use super::{Generation, Generations};
use crate::metrics::{ChatMetrics, ReplyRecord};
use crate::store::{UsageRecord, day_of};

/// What a reply used: the tokens its requests reported (summed over rounds), and for the
/// metrics when the model was asked (its turn had come), when its first text came, and which
/// provider answered.
#[derive(Default)]
pub(super) struct Timing {
    pub(super) usage: Option<llm::Usage>,
    pub(super) asked: Option<tokio::time::Instant>,
    pub(super) first_token: Option<Duration>,
    pub(super) provider: Option<String>,
}

impl Timing {
    pub(super) fn text_arrived(&mut self) {
        if let (Some(asked), None) = (self.asked, self.first_token) {
            self.first_token = Some(asked.elapsed());
        }
    }
}

/// Counts the reply in the metrics and adds it to its owner's use of the day.
pub(super) async fn record_use(
    generations: &Generations,
    generation: &Generation,
    status: MessageStatus,
    timing: &Timing,
    now: i64,
) {
    let model = ChatMetrics::model_label(generations.registry(), &generation.model);
    let duration = timing.asked.map(|asked| asked.elapsed());
    generations.metrics().reply_ended(&ReplyRecord {
        status,
        model: &model,
        provider: timing.provider.as_deref(),
        usage: timing.usage,
        first_token: timing.first_token,
        duration,
    });
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let used = UsageRecord {
        day: day_of(now),
        user_id: generation.owner_id.clone(),
        model,
        provider: timing.provider.clone().unwrap_or_else(|| "none".to_owned()),
        replies: 1,
        failed: i64::from(status == MessageStatus::Failed),
        prompt_tokens: timing.usage.map_or(0, |u| i64::from(u.prompt_tokens)),
        completion_tokens: timing.usage.map_or(0, |u| i64::from(u.completion_tokens)),
        duration_ms: duration.map_or(0, millis),
        first_tokens: i64::from(timing.first_token.is_some()),
        first_token_ms: timing.first_token.map_or(0, millis),
    };
    if let Err(e) = generations.db.add_usage(&used).await {
        tracing::warn!(error = %e, "cannot add a reply to its owner's use of the day");
    }
}
