use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreResult, flag};

#[derive(Debug, Clone)]
pub struct ConversationRecord {
    pub id: String,
    pub owner_id: String,
    pub user_id: String,
    pub title: String,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub pinned: bool,
    pub archived: bool,
    pub message_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: Option<i64>,
    /// Which MCP servers its replies may use: `None` every active one, else these ids (JSON).
    pub mcp_servers: Option<String>,
}

/// A partial update; `None` leaves a field unchanged, `Some(None)` clears a nullable one.
#[derive(Debug, Default)]
pub struct ConversationPatch {
    pub title: Option<String>,
    pub model: Option<Option<String>>,
    pub system_prompt: Option<Option<String>>,
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
    pub mcp_servers: Option<Option<String>>,
}

macro_rules! columns {
    () => {
        "id, owner_id, user_id, title, model, system_prompt, pinned, archived, message_count, \
         created_at, updated_at, last_message_at, mcp_servers"
    };
}

impl ConversationRecord {
    pub(super) fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            user_id: row.try_get("user_id")?,
            title: row.try_get("title")?,
            model: row.try_get("model")?,
            system_prompt: row.try_get("system_prompt")?,
            pinned: row.try_get::<i64, _>("pinned")? != 0,
            archived: row.try_get::<i64, _>("archived")? != 0,
            message_count: row.try_get("message_count")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            last_message_at: row.try_get("last_message_at")?,
            mcp_servers: row.try_get("mcp_servers")?,
        })
    }
}

impl Db {
    pub async fn create_conversation(&self, c: &ConversationRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO conversations (id, owner_id, user_id, title, model, system_prompt, pinned, archived, \
             message_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, $7, $7)",
        )
        .bind(&c.id)
        .bind(&c.owner_id)
        .bind(&c.user_id)
        .bind(&c.title)
        .bind(&c.model)
        .bind(&c.system_prompt)
        .bind(c.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The conversation if it exists and belongs to `owner_id`; otherwise nothing (so a foreign
    /// id looks exactly like an unknown one).
    pub async fn conversation(&self, id: &str, owner_id: &str) -> StoreResult<Option<ConversationRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM conversations WHERE id = $1 AND owner_id = $2"
        ))
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ConversationRecord::from_row).transpose()
    }

    /// The owner's conversations, newest activity first, optionally filtered by a title search.
    pub async fn list_conversations(
        &self,
        owner_id: &str,
        q: Option<&str>,
        archived: Option<bool>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let pattern = q.map(|q| format!("%{}%", common::db::escape_like(&q.to_lowercase())));
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM conversations WHERE owner_id = $1 \
              AND ($2 IS NULL OR LOWER(title) LIKE $2 ESCAPE '\\') \
              AND ($3 IS NULL OR archived = $3) \
              ORDER BY updated_at DESC, id LIMIT $4 OFFSET $5"
        ))
        .bind(owner_id)
        .bind(pattern)
        .bind(archived.map(flag))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ConversationRecord::from_row).collect()
    }

    pub async fn update_conversation(
        &self,
        id: &str,
        owner_id: &str,
        patch: ConversationPatch,
        now: i64,
    ) -> StoreResult<Option<ConversationRecord>> {
        let row = sqlx::query(concat!(
            "UPDATE conversations SET \
               title = COALESCE($3, title), \
               model = CASE WHEN $4 = 1 THEN $5 ELSE model END, \
               system_prompt = CASE WHEN $6 = 1 THEN $7 ELSE system_prompt END, \
               pinned = COALESCE($8, pinned), \
               archived = COALESCE($9, archived), \
               mcp_servers = CASE WHEN $11 = 1 THEN $12 ELSE mcp_servers END, \
               updated_at = $10 \
             WHERE id = $1 AND owner_id = $2 RETURNING ",
            columns!()
        ))
        .bind(id)
        .bind(owner_id)
        .bind(patch.title)
        .bind(flag(patch.model.is_some()))
        .bind(patch.model.flatten())
        .bind(flag(patch.system_prompt.is_some()))
        .bind(patch.system_prompt.flatten())
        .bind(patch.pinned.map(flag))
        .bind(patch.archived.map(flag))
        .bind(now)
        .bind(flag(patch.mcp_servers.is_some()))
        .bind(patch.mcp_servers.flatten())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ConversationRecord::from_row).transpose()
    }

    /// Deletes a conversation and its messages. Returns whether it existed (for this owner).
    /// What `owner_id` stores: conversations, messages and bytes of message text.
    pub async fn usage(&self, owner_id: &str) -> StoreResult<Usage> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(message_count), 0) AS BIGINT), \
             CAST(COALESCE(SUM(content_bytes), 0) AS BIGINT) FROM conversations WHERE owner_id = $1",
        )
        .bind(owner_id)
        .fetch_one(&self.pool)
        .await?;
        let count = |i: usize| -> StoreResult<u64> { Ok(row.try_get::<i64, _>(i)?.max(0) as u64) };
        Ok(Usage { conversations: count(0)?, messages: count(1)?, bytes: count(2)? })
    }

    pub async fn delete_conversation(&self, id: &str, owner_id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE id = $1 AND owner_id = $2")
                .bind(id)
                .bind(owner_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM messages WHERE conversation_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM conversations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// What one user stores ([`Db::usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub conversations: u64,
    pub messages: u64,
    pub bytes: u64,
}
