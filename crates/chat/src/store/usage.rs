//! Each user's use of each model per day (UTC), added to as each reply ends (`usage_daily`):
//! what analytics and budgets read.

use sqlx::Row;

use super::{Db, StoreResult};

/// One reply's use, or (read back) a day's sum of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRecord {
    /// Days since 1970-01-01, UTC.
    pub day: i64,
    pub user_id: String,
    pub model: String,
    pub provider: String,
    pub replies: i64,
    pub failed: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub duration_ms: i64,
    /// How many replies had a first token, and the sum of their times to it.
    pub first_tokens: i64,
    pub first_token_ms: i64,
}

/// The UTC day of a time in milliseconds since the epoch.
pub fn day_of(unix_millis: i64) -> i64 {
    unix_millis.div_euclid(86_400_000)
}

impl Db {
    /// Adds a reply's use to its user's row for the day, model and provider.
    pub async fn add_usage(&self, usage: &UsageRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO usage_daily (day, user_id, model, provider, replies, failed, prompt_tokens, \
             completion_tokens, duration_ms, first_tokens, first_token_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (day, user_id, model, provider) DO UPDATE SET \
             replies = usage_daily.replies + excluded.replies, \
             failed = usage_daily.failed + excluded.failed, \
             prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens, \
             completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens, \
             duration_ms = usage_daily.duration_ms + excluded.duration_ms, \
             first_tokens = usage_daily.first_tokens + excluded.first_tokens, \
             first_token_ms = usage_daily.first_token_ms + excluded.first_token_ms",
        )
        .bind(usage.day)
        .bind(&usage.user_id)
        .bind(&usage.model)
        .bind(&usage.provider)
        .bind(usage.replies)
        .bind(usage.failed)
        .bind(usage.prompt_tokens)
        .bind(usage.completion_tokens)
        .bind(usage.duration_ms)
        .bind(usage.first_tokens)
        .bind(usage.first_token_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The rows of days `from..=to`, by day, user, model and provider.
    pub async fn usage_between(&self, from: i64, to: i64) -> StoreResult<Vec<UsageRecord>> {
        let rows = sqlx::query(
            "SELECT day, user_id, model, provider, replies, failed, prompt_tokens, completion_tokens, \
             duration_ms, first_tokens, first_token_ms FROM usage_daily WHERE day >= $1 AND day <= $2 \
             ORDER BY day, user_id, model, provider",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UsageRecord {
                    day: row.try_get("day")?,
                    user_id: row.try_get("user_id")?,
                    model: row.try_get("model")?,
                    provider: row.try_get("provider")?,
                    replies: row.try_get("replies")?,
                    failed: row.try_get("failed")?,
                    prompt_tokens: row.try_get("prompt_tokens")?,
                    completion_tokens: row.try_get("completion_tokens")?,
                    duration_ms: row.try_get("duration_ms")?,
                    first_tokens: row.try_get("first_tokens")?,
                    first_token_ms: row.try_get("first_token_ms")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_utc_days_since_the_epoch() {
        assert_eq!(super::day_of(0), 0);
        assert_eq!(super::day_of(86_399_999), 0);
        assert_eq!(super::day_of(86_400_000), 1);
        assert_eq!(super::day_of(-1), -1);
    }
}
