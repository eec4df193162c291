//! Finding a user's conversations by the words in their titles and messages.
//!
//! Every word must occur (case-insensitively, anywhere, `%`, `_` and `\` taken literally) in
//! the title or in one message. The text test is LIKE (SQLite, ASCII case folding) or ILIKE
//! (PostgreSQL); an index narrows the messages it runs on: on SQLite a trigram FTS5 table gives
//! the candidates, on PostgreSQL the planner uses the pg_trgm index (see migrations/<engine>).

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

/// The FTS5 trigram index finds strings of three characters or more; shorter words are left to
/// the LIKE test alone.
const TRIGRAM: usize = 3;
/// Enough trigrams to make the candidate set small; more would only slow the index lookup.
const MAX_TRIGRAMS: usize = 24;

/// An FTS5 query that every message containing all of `words` matches: trigrams of each word,
/// every third one and the last, so together they cover the word (a superset of the matches:
/// the LIKE test decides). `None` when no word is long enough to use the index.
fn trigram_query(words: &[String]) -> Option<String> {
    let mut terms = Vec::new();
    for word in words {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < TRIGRAM {
            continue;
        }
        let last = chars.len() - TRIGRAM;
        let mut starts: Vec<usize> = (0..=last).step_by(TRIGRAM).collect();
        if starts.last() != Some(&last) {
            starts.push(last);
        }
        for start in starts {
            let gram: String = chars[start..start + TRIGRAM].iter().collect();
            // An FTS5 string: everything in double quotes is literal, `"` is doubled.
            terms.push(format!("\"{}\"", gram.replace('"', "\"\"")));
        }
    }
    terms.truncate(MAX_TRIGRAMS);
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

impl Db {
    /// The owner's conversations whose title or one of whose messages contains every word,
    /// newest activity first.
    pub async fn search(&self, owner_id: &str, q: &SearchQuery<'_>) -> StoreResult<Vec<SearchMatch>> {
        let like = match self.backend {
            Backend::Sqlite => "LIKE",
            Backend::Postgres => "ILIKE",
        };
        let fts = match self.backend {
            Backend::Sqlite => trigram_query(q.words),
            Backend::Postgres => None,
        };
        // $1 owner, $2 archived, $3 limit, then the index query if any, then one pattern a word.
        let mut next = 4;
        let fts_test = fts.as_ref().map_or(String::new(), |_| {
            next += 1;
            format!(" AND m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ${})", next - 1)
        });
        let patterns: Vec<usize> = (next..next + q.words.len()).collect();
        let tests = |column: &str| {
            patterns
                .iter()
                .map(|p| format!("{column} {like} ${p} ESCAPE '\\'"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let sql = format!(
            "SELECT c.id, c.owner_id, c.user_id, c.title, c.model, c.system_prompt, c.pinned, c.archived, \
               c.message_count, c.created_at, c.updated_at, c.last_message_at, h.position AS hit_position \
             FROM conversations c LEFT JOIN ( \
               SELECT m.conversation_id, MAX(m.position) AS position FROM messages m \
               JOIN conversations mc ON mc.id = m.conversation_id \
               WHERE mc.owner_id = $1 AND ($2 IS NULL OR mc.archived = $2){fts_test} AND {content} \
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
        if let Some(fts) = fts {
            query = query.bind(fts);
        }
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

#[cfg(test)]
mod tests {
    use super::trigram_query;

    fn q(words: &[&str]) -> Option<String> {
        trigram_query(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn words_become_trigrams_that_cover_them() {
        assert_eq!(q(&["ab"]), None);
        assert_eq!(q(&["abc"]).as_deref(), Some("\"abc\""));
        assert_eq!(q(&["abcdefg"]).as_deref(), Some("\"abc\" AND \"def\" AND \"efg\""));
        assert_eq!(q(&["ab", "xyz"]).as_deref(), Some("\"xyz\""));
    }

    #[test]
    fn quotes_are_literal_and_characters_are_not_bytes() {
        assert_eq!(q(&["a\"b"]).as_deref(), Some("\"a\"\"b\""));
        assert_eq!(q(&["éàü"]).as_deref(), Some("\"éàü\""));
        assert_eq!(q(&["50%"]).as_deref(), Some("\"50%\""));
    }

    #[test]
    fn the_query_is_bounded() {
        let long = "x".repeat(200);
        assert_eq!(q(&[&long]).unwrap().matches(" AND ").count(), 24 - 1);
    }
}
