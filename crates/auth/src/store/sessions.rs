use sqlx::Row;

use super::{Db, StoreResult};

/// A session: one refresh-token family.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    /// When the session began, i.e. when its user last typed the password (a refresh keeps
    /// the session, so this is the moment of the last real authentication).
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The token was live and is now used up; its session continues with a new token.
    Rotated(SessionRecord),
    /// The token had already been used: its whole family is now revoked.
    Reused { session_id: String, user_id: String },
    /// Unknown, expired, or its session has ended.
    Invalid,
}

impl Db {
    /// Starts a session with its first refresh token.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_session(
        &self,
        session_id: &str,
        user_id: &str,
        client_id: &str,
        scope: &str,
        token_hash: &str,
        now: i64,
        token_expires_at: i64,
        session_expires_at: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, client_id, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session_id)
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .bind(session_expires_at)
        .execute(&mut *tx)
        .await?;
        insert_token(&mut tx, token_hash, session_id, now, token_expires_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses up a refresh token and, if it was live, stores its successor in the same
    /// transaction. The `UPDATE … WHERE used_at IS NULL` is the single point where two
    /// concurrent refreshes race: exactly one wins, the other is treated as reuse.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        new_token_hash: &str,
        now: i64,
        new_token_expires_at: i64,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING session_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else {
            // Not claimable: either unknown/expired, or already used (reuse → revoke family).
            let used = sqlx::query(
                "SELECT t.session_id, s.user_id FROM refresh_tokens t \
                 JOIN sessions s ON s.id = t.session_id \
                 WHERE t.token_hash = $1 AND t.used_at IS NOT NULL",
            )
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match used {
                Some(row) => {
                    let session_id: String = row.try_get("session_id")?;
                    revoke_session_in(&mut tx, &session_id, now).await?;
                    RefreshOutcome::Reused { session_id, user_id: row.try_get("user_id")? }
                }
                None => RefreshOutcome::Invalid,
            };
            tx.commit().await?;
            return Ok(outcome);
        };
        let session_id: String = claimed.try_get("session_id")?;
        let session = session_in(&mut tx, &session_id).await?;
        let Some(session) = session.filter(|s| !s.revoked && s.expires_at > now) else {
            tx.commit().await?;
            return Ok(RefreshOutcome::Invalid);
        };
        let expires_at = new_token_expires_at.min(session.expires_at);
        insert_token(&mut tx, new_token_hash, &session_id, now, expires_at).await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated(session))
    }

    /// The session a refresh token belongs to, if the token is live (for revocation and
    /// introspection).
    pub async fn session_of_refresh_token(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.id, s.user_id, s.client_id, s.scope, s.created_at, s.expires_at, s.revoked_at \
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn session(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        let mut conn = self.pool.acquire().await?;
        session_in(&mut conn, id).await
    }

    /// Ends one session. Returns whether it was live.
    pub async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await?;
        revoke_session_in(&mut conn, id, now).await
    }

    /// Ends every live session of a user except `keep` (the caller's own, if any).
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let ended: Vec<String> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $2 \
             WHERE user_id = $1 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3) RETURNING id",
        )
        .bind(user_id)
        .bind(now)
        .bind(keep)
        .fetch_all(&mut *tx)
        .await?;
        // Each ended session goes into the revocation feed, so resource servers refuse tokens
        // refreshed from it in the moment between the cut-off and this revocation.
        for session_id in &ended {
            super::revocations::record(&mut tx, "session", session_id, 0).await?;
        }
        tx.commit().await?;
        Ok(ended.len() as u64)
    }

    /// Deletes sessions that ended more than `grace` seconds ago, with their tokens.
    pub async fn prune_sessions(&self, now: i64, grace: i64) -> StoreResult<u64> {
        let cutoff = now - grace;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN \
             (SELECT id FROM sessions WHERE expires_at < $1 OR revoked_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    token_hash: &str,
    session_id: &str,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn session_in(conn: &mut sqlx::AnyConnection, id: &str) -> StoreResult<Option<SessionRecord>> {
    let row = sqlx::query(
        "SELECT id, user_id, client_id, scope, created_at, expires_at, revoked_at FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

async fn revoke_session_in(conn: &mut sqlx::AnyConnection, id: &str, now: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let ended = done.rows_affected() > 0;
    if ended {
        super::revocations::record(conn, "session", id, 0).await?;
    }
    Ok(ended)
}

fn session_from_row(row: &sqlx::any::AnyRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        client_id: row.try_get("client_id")?,
        scope: row.try_get("scope")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

impl Db {
    /// Whether a refresh token is unused and unexpired.
    pub async fn refresh_token_is_live(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }
}
