//! The tool-call audit: one row per call (who, which server and tool, how it ended), for
//! administrators.

use sqlx::Row;

use super::{Db, StoreResult};

/// One audited tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallAuditRecord {
    pub id: String,
    pub at: i64,
    pub user_id: String,
    pub username: String,
    pub conversation_id: String,
    pub server: String,
    pub tool: String,
    /// `ok`, `error` or `declined`.
    pub outcome: String,
    pub duration_ms: i64,
    pub bytes: i64,
}

/// What to list: `None` matches everything.
#[derive(Debug, Default)]
pub struct AuditFilter<'a> {
    pub username: Option<&'a str>,
    pub server: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub outcome: Option<&'a str>,
}

macro_rules! filter {
    () => {
        "($1 IS NULL OR username = $1) AND ($2 IS NULL OR server = $2) AND ($3 IS NULL OR tool = $3) \
         AND ($4 IS NULL OR outcome = $4)"
    };
}

impl Db {
    pub async fn insert_tool_call_audit(&self, record: &ToolCallAuditRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tool_call_audit (id, at, user_id, username, conversation_id, server, tool, outcome, \
             duration_ms, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&record.id)
        .bind(record.at)
        .bind(&record.user_id)
        .bind(&record.username)
        .bind(&record.conversation_id)
        .bind(&record.server)
        .bind(&record.tool)
        .bind(&record.outcome)
        .bind(record.duration_ms)
        .bind(record.bytes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The audited calls matching `filter`, newest first, and how many match in all.
    pub async fn tool_call_audit(
        &self,
        filter: &AuditFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<ToolCallAuditRecord>, i64)> {
        let rows = sqlx::query(concat!(
            "SELECT id, at, user_id, username, conversation_id, server, tool, outcome, duration_ms, bytes \
             FROM tool_call_audit WHERE ",
            filter!(),
            " ORDER BY at DESC, id LIMIT $5 OFFSET $6"
        ))
        .bind(filter.username)
        .bind(filter.server)
        .bind(filter.tool)
        .bind(filter.outcome)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total = sqlx::query(concat!("SELECT COUNT(*) AS n FROM tool_call_audit WHERE ", filter!()))
            .bind(filter.username)
            .bind(filter.server)
            .bind(filter.tool)
            .bind(filter.outcome)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let calls = rows
            .iter()
            .map(|row| {
                Ok(ToolCallAuditRecord {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    user_id: row.try_get("user_id")?,
                    username: row.try_get("username")?,
                    conversation_id: row.try_get("conversation_id")?,
                    server: row.try_get("server")?,
                    tool: row.try_get("tool")?,
                    outcome: row.try_get("outcome")?,
                    duration_ms: row.try_get("duration_ms")?,
                    bytes: row.try_get("bytes")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((calls, total))
    }

    /// Removes the audited calls from before `before` (milliseconds); how many.
    pub async fn prune_tool_call_audit(&self, before: i64) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM tool_call_audit WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
