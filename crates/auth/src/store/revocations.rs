use sqlx::Row;

use super::{Db, StoreResult};

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    /// Unix milliseconds when it was recorded.
    pub at: i64,
    /// `user` or `session`.
    pub kind: String,
    pub subject: String,
    /// For `user`: tokens issued before this instant (unix seconds) are void.
    pub not_before: i64,
}

/// Deleted users: every token is void.
pub const FOREVER: i64 = i64::MAX / 2;

pub(super) async fn record(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    subject: &str,
    not_before: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO revocations (id, at, kind, subject, not_before) VALUES ($1, $2, $3, $4, $5)")
        .bind(common::ids::random_id(16))
        .bind(common::clock::now_millis())
        .bind(kind)
        .bind(subject)
        .bind(not_before)
        .execute(conn)
        .await?;
    Ok(())
}

impl Db {
    /// Entries recorded at or after `since` (unix milliseconds), oldest first, at most `limit`.
    pub async fn revocations_since(&self, since: i64, limit: i64) -> StoreResult<Vec<RevocationRecord>> {
        let rows = sqlx::query(
            "SELECT at, kind, subject, not_before FROM revocations WHERE at >= $1 ORDER BY at, id LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RevocationRecord {
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    subject: row.try_get("subject")?,
                    not_before: row.try_get("not_before")?,
                })
            })
            .collect()
    }

    /// Forgets entries older than `before` (unix milliseconds): the tokens they concern have expired.
    pub async fn prune_revocations(&self, before: i64) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM revocations WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
