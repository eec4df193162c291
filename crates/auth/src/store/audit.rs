use sqlx::Row;

use super::{Db, StoreResult};

/// One stored security event.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    pub event: String,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl Db {
    /// Appends an event. Events are never changed; only those past the retention period are deleted.
    pub async fn append_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (id, at, event, username, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&record.id)
        .bind(record.at)
        .bind(&record.event)
        .bind(&record.username)
        .bind(&record.ip)
        .bind(&record.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets events older than `before` (unix milliseconds): the log is kept for a bounded time.
    pub async fn prune_audit(&self, before: i64) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM audit_events WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Newest first, optionally only one kind of event or one user's.
    pub async fn list_audit(
        &self,
        event: Option<&str>,
        username: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<AuditRecord>, i64)> {
        macro_rules! filter {
            () => {
                "($1 IS NULL OR event = $1) AND ($2 IS NULL OR username = $2)"
            };
        }
        let rows = sqlx::query(concat!(
            "SELECT id, at, event, username, ip, detail FROM audit_events WHERE ",
            filter!(),
            " ORDER BY at DESC, id LIMIT $3 OFFSET $4"
        ))
        .bind(event)
        .bind(username)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM audit_events WHERE ", filter!()))
            .bind(event)
            .bind(username)
            .fetch_one(&self.pool)
            .await?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    event: row.try_get("event")?,
                    username: row.try_get("username")?,
                    ip: row.try_get("ip")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((events, total))
    }
}
