//! Finding a user's conversations by the words in their titles and messages.
//!
//! Every word must occur (case-insensitively, anywhere, `%`, `_` and `\` taken literally) in
//! the title or in one message. The test is LIKE on SQLite (ASCII case folding), which reads
//! the user's own messages; ILIKE on PostgreSQL, where the planner can use the pg_trgm index of
//! `migrations/postgres`. Why SQLite has no index: docs/architecture.md ("Search and settings").

use common::db::Backend;
use sqlx::Row;

use super::{ConversationRecord, Db, StoreResult, flag};

/// A validated search.
pub struct SearchQuery<'a> {
    /// Non-empty words, each matched anywhere.
    pub words: &'a [String],
    pub archived: Option<bool>,
    pub limit: i64,
}

/// A conversation found, with its newest matching message when the match is in the text.
pub struct SearchMatch {
    pub conversation: ConversationRecord,
    pub message: Option<MatchedMessage>,
}

pub struct MatchedMessage {
    pub id: String,
    pub role: String,
    pub content: String,
}

/// pg_trgm indexes strings of three characters or more.
const TRIGRAM: usize = 3;

impl Db {
    /// The owner's conversations whose title or one of whose messages contains every word,
    /// newest activity first.
    pub async fn search(&self, owner_id: &str, q: &SearchQuery<'_>) -> StoreResult<Vec<SearchMatch>> {
        let like = match self.backend {
            Backend::Sqlite => "LIKE",
            Backend::Postgres => "ILIKE",
        };
        let tests = |column: &str| {
            q.words
                .iter()
                // $1 owner, $2 archived, $3 limit, then one pattern a word.
                .zip(4..)
                .map(|(word, p)| {
                    // pg_trgm cannot narrow a pattern under three characters: its index would be
                    // read whole (minutes at 100 000 messages). An expression it does not index
                    // keeps the planner to the user's own messages instead.
                    let indexed = self.backend == Backend::Sqlite || word.chars().count() >= TRIGRAM;
                    let column = if indexed { column.to_owned() } else { format!("({column} || '')") };
                    format!("{column} {like} ${p} ESCAPE '\\'")
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let sql = format!(
            "SELECT c.id, c.owner_id, c.user_id, c.title, c.model, c.system_prompt, c.pinned, c.archived, \
               c.message_count, c.created_at, c.updated_at, c.last_message_at, c.mcp_servers, h.position AS hit_position \
             FROM conversations c LEFT JOIN ( \
               SELECT m.conversation_id, MAX(m.position) AS position FROM messages m \
               JOIN conversations mc ON mc.id = m.conversation_id \
               WHERE mc.owner_id = $1 AND ($2 IS NULL OR mc.archived = $2) AND {content} \
               GROUP BY m.conversation_id \
             ) h ON h.conversation_id = c.id \
             WHERE c.owner_id = $1 AND ($2 IS NULL OR c.archived = $2) \
               AND (h.position IS NOT NULL OR ({title})) \
             ORDER BY c.updated_at DESC, c.id LIMIT $3",
            content = tests("m.content"),
            title = tests("c.title"),
        );
        let mut query =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner_id).bind(q.archived.map(flag)).bind(q.limit);
        for word in q.words {
            query = query.bind(format!("%{}%", common::db::escape_like(word)));
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut found = Vec::with_capacity(rows.len());
        let mut hits = Vec::new();
        for row in &rows {
            let conversation = ConversationRecord::from_row(row)?;
            if let Some(position) = row.try_get::<Option<i64>, _>("hit_position")? {
                hits.push((conversation.id.clone(), position));
            }
            found.push(SearchMatch { conversation, message: None });
        }
        let mut messages = self.messages_at(&hits).await?;
        for m in &mut found {
            m.message = messages.remove(&m.conversation.id);
        }
        Ok(found)
    }

    /// The messages at these (conversation, position) places, by conversation id.
    async fn messages_at(
        &self,
        places: &[(String, i64)],
    ) -> StoreResult<std::collections::HashMap<String, MatchedMessage>> {
        if places.is_empty() {
            return Ok(Default::default());
        }
        let tests = (0..places.len())
            .map(|i| format!("(conversation_id = ${} AND position = ${})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("SELECT conversation_id, id, role, content FROM messages WHERE {tests}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (conversation, position) in places {
            query = query.bind(conversation.as_str()).bind(*position);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("conversation_id")?,
                    MatchedMessage {
                        id: row.try_get("id")?,
                        role: row.try_get("role")?,
                        content: row.try_get("content")?,
                    },
                ))
            })
            .collect()
    }
}
