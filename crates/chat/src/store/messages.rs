use api_types::chat::{FinishReason, MessageStatus, Role};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub id: String,
    pub conversation_id: String,
    pub parent_id: Option<String>,
    pub position: i64,
    pub role: Role,
    pub content: String,
    pub status: MessageStatus,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub error: Option<String>,
    pub finish_reason: Option<FinishReason>,
    pub created_at: i64,
    /// The tools the reply called, as JSON (`api_types::mcp::ToolCall` list).
    pub tool_calls: Option<String>,
}

/// How a reply ended, as stored.
pub struct ReplyEnd<'a> {
    pub status: MessageStatus,
    pub content: &'a str,
    /// Prompt and completion tokens.
    pub usage: Option<(i64, i64)>,
    pub error: Option<&'a str>,
    pub finish_reason: Option<FinishReason>,
    /// The tools the reply called, as JSON; `None` leaves what is stored.
    pub tool_calls: Option<&'a str>,
}

/// Where a new message hangs in the conversation's tree.
#[derive(Debug, Clone, Copy)]
pub enum Parent<'a> {
    /// After the newest message (chosen inside the append, so concurrent senders chain up).
    Newest,
    /// Exactly here (`None`: a root), for replies, edits and regenerations.
    Exactly(Option<&'a str>),
}

/// A message to append.
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub conversation_id: &'a str,
    pub parent: Parent<'a>,
    pub role: Role,
    pub content: &'a str,
    pub status: MessageStatus,
    pub model: Option<&'a str>,
    pub lease_until: Option<i64>,
}

macro_rules! columns {
    () => {
        "m.id, m.conversation_id, m.parent_id, m.position, m.role, m.content, m.status, m.model, \
         m.prompt_tokens, m.completion_tokens, m.error, m.finish_reason, m.created_at, m.tool_calls"
    };
}

impl MessageRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        let text = |column: &str| -> StoreResult<String> { Ok(row.try_get(column)?) };
        let unknown = |column: &str, value: String| {
            StoreError::Database(sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: format!("unknown value {value:?}").into(),
            })
        };
        let role = text("role")?;
        let role = Role::parse(&role).ok_or_else(|| unknown("role", role))?;
        let status = text("status")?;
        let status = MessageStatus::parse(&status).ok_or_else(|| unknown("status", status))?;
        let finish_reason: Option<String> = row.try_get("finish_reason")?;
        let finish_reason = finish_reason
            .map(|r| FinishReason::parse(&r).ok_or_else(|| unknown("finish_reason", r)))
            .transpose()?;
        Ok(Self {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            parent_id: row.try_get("parent_id")?,
            position: row.try_get("position")?,
            role,
            content: row.try_get("content")?,
            status,
            model: row.try_get("model")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
            error: row.try_get("error")?,
            finish_reason,
            created_at: row.try_get("created_at")?,
            tool_calls: row.try_get("tool_calls")?,
        })
    }
}

impl Db {
    /// Appends a message at the end of its conversation; see [`Db::append_messages`].
    pub async fn append_message(&self, m: &NewMessage<'_>, now: i64) -> StoreResult<MessageRecord> {
        let mut records = self.append_messages(std::slice::from_ref(m), now).await?;
        Ok(records.pop().expect("one message in, one record out"))
    }

    /// Appends messages at the end of their conversation and bumps its counters, in one
    /// transaction (a user message and the empty reply to it cost one commit, not two).
    /// Positions come from the conversation's incremented message count: the `UPDATE` comes
    /// first and locks the conversation's row (the database on SQLite), so concurrent appends
    /// queue instead of colliding, and `Parent::Newest` is read under that lock, so concurrent
    /// senders chain up. The conversation may vanish meanwhile: `ConversationGone`.
    pub async fn append_messages(
        &self,
        messages: &[NewMessage<'_>],
        now: i64,
    ) -> StoreResult<Vec<MessageRecord>> {
        let Some(first) = messages.first() else { return Ok(Vec::new()) };
        let conversation_id = first.conversation_id;
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let count: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET message_count = message_count + $3, updated_at = $2, last_message_at = $2, \
             content_bytes = content_bytes + $4 WHERE id = $1 RETURNING message_count",
        )
        .bind(conversation_id)
        .bind(now)
        .bind(messages.len() as i64)
        .bind(messages.iter().map(|m| m.content.len() as i64).sum::<i64>())
        .fetch_optional(&mut *tx)
        .await?;
        let count = count.ok_or(StoreError::ConversationGone)?;
        let mut tip: Option<String> = if messages.iter().any(|m| matches!(m.parent, Parent::Newest)) {
            sqlx::query_scalar(
                "SELECT id FROM messages WHERE conversation_id = $1 ORDER BY position DESC LIMIT 1",
            )
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        } else {
            None
        };
        let mut records = Vec::with_capacity(messages.len());
        for (offset, m) in messages.iter().enumerate() {
            let position = count - messages.len() as i64 + 1 + offset as i64;
            let parent_id = match m.parent {
                Parent::Exactly(parent) => parent.map(str::to_owned),
                Parent::Newest => tip.clone(),
            };
            sqlx::query(
                "INSERT INTO messages (id, conversation_id, parent_id, position, role, content, status, model, \
                 created_at, updated_at, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
            )
            .bind(m.id)
            .bind(conversation_id)
            .bind(&parent_id)
            .bind(position)
            .bind(m.role.as_str())
            .bind(m.content)
            .bind(m.status.as_str())
            .bind(m.model)
            .bind(now)
            .bind(m.lease_until)
            .execute(&mut *tx)
            .await?;
            tip = Some(m.id.to_owned());
            records.push(MessageRecord {
                id: m.id.to_owned(),
                conversation_id: conversation_id.to_owned(),
                parent_id,
                position,
                role: m.role,
                content: m.content.to_owned(),
                status: m.status,
                model: m.model.map(str::to_owned),
                prompt_tokens: None,
                completion_tokens: None,
                error: None,
                finish_reason: None,
                tool_calls: None,
                created_at: now,
            });
        }
        tx.commit().await?;
        Ok(records)
    }

    /// A message of a conversation owned by `owner_id`.
    pub async fn message(&self, id: &str, owner_id: &str) -> StoreResult<Option<MessageRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1 AND c.owner_id = $2"
        ))
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(MessageRecord::from_row).transpose()
    }

    /// Up to `limit` messages, oldest first; with `before_position`, only older ones (paging from
    /// the newest end).
    pub async fn messages(
        &self,
        conversation_id: &str,
        before_position: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<MessageRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM messages m WHERE m.conversation_id = $1 AND ($2 IS NULL OR m.position < $2) \
              ORDER BY m.position DESC LIMIT $3"
        ))
        .bind(conversation_id)
        .bind(before_position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut messages = rows.iter().map(MessageRecord::from_row).collect::<StoreResult<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// A page of messages, oldest first: the newest at most `limit` older than
    /// `before_position` whose texts together hold at most `max_bytes` (at least one message,
    /// whatever its size), and whether older messages remain. Sizes are read first, so texts
    /// past the bound are never loaded.
    pub async fn message_page(
        &self,
        conversation_id: &str,
        before_position: Option<i64>,
        limit: i64,
        max_bytes: usize,
    ) -> StoreResult<(Vec<MessageRecord>, bool)> {
        let sql = match self.backend {
            common::db::Backend::Postgres => {
                "SELECT m.position, CAST(octet_length(m.content) AS BIGINT) FROM messages m \
                 WHERE m.conversation_id = $1 AND ($2 IS NULL OR m.position < $2) \
                 ORDER BY m.position DESC LIMIT $3"
            }
            common::db::Backend::Sqlite => {
                "SELECT m.position, CAST(length(CAST(m.content AS BLOB)) AS BIGINT) FROM messages m \
                 WHERE m.conversation_id = $1 AND ($2 IS NULL OR m.position < $2) \
                 ORDER BY m.position DESC LIMIT $3"
            }
        };
        let sizes: Vec<(i64, i64)> = sqlx::query_as(sql)
            .bind(conversation_id)
            .bind(before_position)
            .bind(limit.saturating_add(1))
            .fetch_all(&self.pool)
            .await?;
        let mut total = 0usize;
        let mut kept = 0;
        for (_, bytes) in sizes.iter().take(usize::try_from(limit).unwrap_or(0)) {
            let bytes = usize::try_from(*bytes).unwrap_or(usize::MAX);
            if kept > 0 && total.saturating_add(bytes) > max_bytes {
                break;
            }
            total = total.saturating_add(bytes);
            kept += 1;
        }
        if kept == 0 {
            return Ok((Vec::new(), false));
        }
        let (newest, oldest) = (sizes[0].0, sizes[kept - 1].0);
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM messages m WHERE m.conversation_id = $1 AND m.position >= $2 AND m.position <= $3 \
              ORDER BY m.position"
        ))
        .bind(conversation_id)
        .bind(oldest)
        .bind(newest)
        .fetch_all(&self.pool)
        .await?;
        let messages = rows.iter().map(MessageRecord::from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((messages, sizes.len() > kept))
    }

    /// The branch ending at `message_id`: it and its ancestors, oldest first, at most `limit`.
    /// Only the newest `4 × limit` messages are read: enough for the usual shapes (a linear
    /// chat, a few regenerations and edits) without reading a long conversation whole.
    pub async fn branch(
        &self,
        conversation_id: &str,
        message_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>> {
        let all = self.messages(conversation_id, None, (limit * 4) as i64).await?;
        let by_id: std::collections::HashMap<&str, &MessageRecord> =
            all.iter().map(|m| (m.id.as_str(), m)).collect();
        let mut chain = Vec::new();
        let mut cursor = by_id.get(message_id).copied();
        while let Some(message) = cursor {
            chain.push(message.clone());
            if chain.len() >= limit {
                break;
            }
            cursor = message.parent_id.as_deref().and_then(|p| by_id.get(p).copied());
        }
        chain.reverse();
        Ok(chain)
    }

    /// Stores the text streamed so far and extends the lease.
    pub async fn save_partial(&self, id: &str, content: &str, now: i64, lease_until: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET content = $2, updated_at = $3, lease_until = $4 WHERE id = $1 AND status = 'streaming'",
        )
        .bind(id)
        .bind(content)
        .bind(now)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends `text` to a streaming reply's stored text and renews its lease, provided the
    /// stored text has `stored_chars` characters (what the caller wrote so far); false when it
    /// has not (or the reply is no longer streaming). Only the new text is sent, not the whole.
    pub async fn append_partial(
        &self,
        id: &str,
        text: &str,
        stored_chars: usize,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE messages SET content = content || $2, updated_at = $3, lease_until = $4 \
             WHERE id = $1 AND status = 'streaming' AND length(content) = $5",
        )
        .bind(id)
        .bind(text)
        .bind(now)
        .bind(lease_until)
        .bind(i64::try_from(stored_chars).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Final state of a reply.
    pub async fn finish_message(&self, id: &str, end: &ReplyEnd<'_>, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET status = $2, content = $3, prompt_tokens = $4, completion_tokens = $5, error = $6, \
             finish_reason = $7, updated_at = $8, lease_until = NULL, tool_calls = COALESCE($9, tool_calls) \
             WHERE id = $1",
        )
        .bind(id)
        .bind(end.status.as_str())
        .bind(end.content)
        .bind(end.usage.map(|u| u.0))
        .bind(end.usage.map(|u| u.1))
        .bind(end.error)
        .bind(end.finish_reason.map(FinishReason::as_str))
        .bind(now)
        .bind(end.tool_calls)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores the tools a streaming reply has called so far (after each call ends, so a reply
    /// whose process dies keeps them).
    pub async fn save_tool_calls(&self, id: &str, tool_calls: &str) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET tool_calls = $2 WHERE id = $1 AND status = 'streaming'")
            .bind(id)
            .bind(tool_calls)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Reopens a reply that ended early, to be continued: it is `streaming` again, with a new
    /// lease. Only one continuation wins: false when the reply is not (or no longer) one that
    /// can be continued.
    pub async fn reopen_message(&self, id: &str, now: i64, lease_until: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE messages SET status = 'streaming', finish_reason = NULL, error = NULL, updated_at = $2, \
             lease_until = $3 WHERE id = $1 AND role = 'assistant' \
             AND status IN ('incomplete', 'cancelled', 'interrupted')",
        )
        .bind(id)
        .bind(now)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether a message has replies or follow-ups (it is not a leaf of the tree).
    /// (Read through the conversation's own messages: no index on `parent_id` to pay for on
    /// every insert.)
    pub async fn has_children(&self, conversation_id: &str, id: &str) -> StoreResult<bool> {
        let child: Option<String> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE conversation_id = $1 AND parent_id = $2 LIMIT 1",
        )
        .bind(conversation_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(child.is_some())
    }

    /// The text an interrupted reply had streamed (read from its cluster log), when it is more
    /// than its producer saved.
    pub async fn keep_interrupted_text(&self, id: &str, content: &str) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET content = $2 WHERE id = $1 AND status = 'interrupted'")
            .bind(id)
            .bind(content)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replies still `streaming` whose lease ran out (their process died) become `interrupted`.
    pub async fn interrupt_expired(&self, now: i64) -> StoreResult<Vec<(MessageRecord, String)>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "UPDATE messages SET status = 'interrupted', lease_until = NULL, updated_at = $1 \
             WHERE status = 'streaming' AND (lease_until IS NULL OR lease_until < $1) RETURNING id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut interrupted = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let row = sqlx::query(concat!(
                "SELECT ",
                columns!(),
                ", c.owner_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1"
            ))
            .bind(&id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                let owner: String = sqlx::Row::try_get(&row, "owner_id")?;
                interrupted.push((MessageRecord::from_row(&row)?, owner));
            }
        }
        Ok(interrupted)
    }
}
