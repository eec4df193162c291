//! Users' sign-ins to MCP servers that require one (`tools::oauth`): the client registered with
//! each server's authorization server, each user's tokens, and sign-ins under way. Secrets are
//! stored sealed; this module only keeps them.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreResult};

/// The client registered for a server, and where its authorization server's endpoints are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientRecord {
    pub server_id: String,
    /// The server URL it was registered for.
    pub server_url: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub client_id: String,
    /// Sealed.
    pub client_secret: Option<String>,
    /// The redirect URIs registered, space-separated.
    pub redirect_uris: String,
    /// The scope to ask for, if the server names one.
    pub scope: Option<String>,
    pub created_at: i64,
}

/// A user's tokens for a server (sealed), and when the access token expires (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTokenRecord {
    /// The server's address they were granted for, and the client they were granted to.
    pub server_url: String,
    pub client_id: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<i64>,
    pub updated_at: i64,
}

/// A sign-in under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthPendingRecord {
    /// SHA-256 of the `state` sent, base64url.
    pub state: String,
    pub server_id: String,
    pub user_id: String,
    /// The client the sign-in was begun with.
    pub client_id: String,
    /// The PKCE verifier, sealed.
    pub verifier: String,
    pub redirect_uri: String,
    pub created_at: i64,
}

/// Most sign-ins one user may have under way (older ones are dropped).
const MAX_PENDING_PER_USER: i64 = 10;

impl OAuthClientRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            server_id: row.try_get("server_id")?,
            server_url: row.try_get("server_url")?,
            issuer: row.try_get("issuer")?,
            authorization_endpoint: row.try_get("authorization_endpoint")?,
            token_endpoint: row.try_get("token_endpoint")?,
            client_id: row.try_get("client_id")?,
            client_secret: row.try_get("client_secret")?,
            redirect_uris: row.try_get("redirect_uris")?,
            scope: row.try_get("scope")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl Db {
    pub async fn oauth_client(&self, server_id: &str) -> StoreResult<Option<OAuthClientRecord>> {
        let row = sqlx::query(
            "SELECT server_id, server_url, issuer, authorization_endpoint, token_endpoint, client_id, \
             client_secret, redirect_uris, scope, created_at FROM mcp_oauth_clients WHERE server_id = $1",
        )
        .bind(server_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(OAuthClientRecord::from_row).transpose()
    }

    /// Stores a server's first client; false if it already has one (another sign-in
    /// registered first: use that one) or the server is gone.
    pub async fn insert_oauth_client(&self, client: &OAuthClientRecord) -> StoreResult<bool> {
        let stored = sqlx::query(
            "INSERT INTO mcp_oauth_clients (server_id, server_url, issuer, authorization_endpoint, \
             token_endpoint, client_id, client_secret, redirect_uris, scope, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (server_id) DO NOTHING",
        );
        let stored = bind_client(stored, client).execute(&self.pool).await;
        Ok(gone_if_fk(stored.map(|done| done.rows_affected() == 1))?.unwrap_or(false))
    }

    /// Replaces a server's client `old_client_id` (registered for an old address or other
    /// redirect URIs); false if it was replaced meanwhile.
    pub async fn replace_oauth_client(
        &self,
        client: &OAuthClientRecord,
        old_client_id: &str,
    ) -> StoreResult<bool> {
        let replaced = sqlx::query(
            "UPDATE mcp_oauth_clients SET server_url = $2, issuer = $3, authorization_endpoint = $4, \
             token_endpoint = $5, client_id = $6, client_secret = $7, redirect_uris = $8, scope = $9, \
             created_at = $10 WHERE server_id = $1 AND client_id = $11",
        );
        let replaced = bind_client(replaced, client).bind(old_client_id).execute(&self.pool).await?;
        Ok(replaced.rows_affected() == 1)
    }

    pub async fn oauth_tokens(
        &self,
        server_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<OAuthTokenRecord>> {
        let row = sqlx::query(
            "SELECT server_url, client_id, access_token, refresh_token, expires_at, updated_at \
             FROM mcp_oauth_tokens WHERE server_id = $1 AND user_id = $2",
        )
        .bind(server_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(OAuthTokenRecord {
                server_url: row.try_get("server_url")?,
                client_id: row.try_get("client_id")?,
                access_token: row.try_get("access_token")?,
                refresh_token: row.try_get("refresh_token")?,
                expires_at: row.try_get("expires_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// The servers `user_id` has signed in to.
    pub async fn oauth_signed_in(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT server_id FROM mcp_oauth_tokens WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("server_id")?)).collect()
    }

    /// Stores (or replaces) a user's tokens after a sign-in; false if the server is gone.
    pub async fn put_oauth_tokens(
        &self,
        server_id: &str,
        user_id: &str,
        tokens: &OAuthTokenRecord,
    ) -> StoreResult<bool> {
        let stored = sqlx::query(
            "INSERT INTO mcp_oauth_tokens (server_id, user_id, server_url, client_id, access_token, \
             refresh_token, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (user_id, server_id) DO UPDATE SET server_url = excluded.server_url, \
             client_id = excluded.client_id, access_token = excluded.access_token, \
             refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, \
             updated_at = excluded.updated_at",
        )
        .bind(server_id)
        .bind(user_id)
        .bind(&tokens.server_url)
        .bind(&tokens.client_id)
        .bind(&tokens.access_token)
        .bind(&tokens.refresh_token)
        .bind(tokens.expires_at)
        .bind(tokens.updated_at)
        .execute(&self.pool)
        .await;
        Ok(gone_if_fk(stored.map(|_| true))?.unwrap_or(false))
    }

    /// Replaces a user's tokens with renewed ones, only if they are still those last written at
    /// `seen` (not removed, replaced or renewed meanwhile); whether they were.
    pub async fn renew_oauth_tokens(
        &self,
        server_id: &str,
        user_id: &str,
        tokens: &OAuthTokenRecord,
        seen: i64,
    ) -> StoreResult<bool> {
        let renewed = sqlx::query(
            "UPDATE mcp_oauth_tokens SET access_token = $3, refresh_token = $4, expires_at = $5, \
             updated_at = $6 WHERE server_id = $1 AND user_id = $2 AND updated_at = $7",
        )
        .bind(server_id)
        .bind(user_id)
        .bind(&tokens.access_token)
        .bind(&tokens.refresh_token)
        .bind(tokens.expires_at)
        .bind(tokens.updated_at)
        .bind(seen)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Forgets a user's tokens for a server; whether there were any.
    pub async fn delete_oauth_tokens(&self, server_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM mcp_oauth_tokens WHERE server_id = $1 AND user_id = $2")
            .bind(server_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets a server's client and everyone's tokens and sign-ins under way (its address
    /// changed, or it no longer asks for sign-ins).
    pub async fn forget_oauth(&self, server_id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for statement in [
            "DELETE FROM mcp_oauth_pending WHERE server_id = $1",
            "DELETE FROM mcp_oauth_tokens WHERE server_id = $1",
            "DELETE FROM mcp_oauth_clients WHERE server_id = $1",
        ] {
            sqlx::query(statement).bind(server_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a sign-in under way, dropping those older than `expired_before` and the user's
    /// oldest past [`MAX_PENDING_PER_USER`]; false if the server is gone.
    pub async fn put_oauth_pending(
        &self,
        pending: &OAuthPendingRecord,
        expired_before: i64,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM mcp_oauth_pending WHERE created_at < $1")
            .bind(expired_before)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "DELETE FROM mcp_oauth_pending WHERE user_id = $1 AND state NOT IN \
             (SELECT state FROM mcp_oauth_pending WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2)",
        )
        .bind(&pending.user_id)
        .bind(MAX_PENDING_PER_USER - 1)
        .execute(&self.pool)
        .await?;
        let stored = sqlx::query(
            "INSERT INTO mcp_oauth_pending (state, server_id, user_id, client_id, verifier, redirect_uri, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&pending.state)
        .bind(&pending.server_id)
        .bind(&pending.user_id)
        .bind(&pending.client_id)
        .bind(&pending.verifier)
        .bind(&pending.redirect_uri)
        .bind(pending.created_at)
        .execute(&self.pool)
        .await;
        Ok(gone_if_fk(stored.map(|_| true))?.unwrap_or(false))
    }

    /// Takes (removes and returns) the sign-in under way with this state hash, if it is
    /// `user_id`'s: a state is used once, and only by the user who began it.
    pub async fn take_oauth_pending(
        &self,
        state: &str,
        user_id: &str,
    ) -> StoreResult<Option<OAuthPendingRecord>> {
        let row = sqlx::query(
            "DELETE FROM mcp_oauth_pending WHERE state = $1 AND user_id = $2 \
             RETURNING state, server_id, user_id, client_id, verifier, redirect_uri, created_at",
        )
        .bind(state)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(OAuthPendingRecord {
                state: row.try_get("state")?,
                server_id: row.try_get("server_id")?,
                user_id: row.try_get("user_id")?,
                client_id: row.try_get("client_id")?,
                verifier: row.try_get("verifier")?,
                redirect_uri: row.try_get("redirect_uri")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a client's fields as $1–$10, in the tables' column order.
fn bind_client<'q>(query: AnyQuery<'q>, client: &'q OAuthClientRecord) -> AnyQuery<'q> {
    query
        .bind(&client.server_id)
        .bind(&client.server_url)
        .bind(&client.issuer)
        .bind(&client.authorization_endpoint)
        .bind(&client.token_endpoint)
        .bind(&client.client_id)
        .bind(&client.client_secret)
        .bind(&client.redirect_uris)
        .bind(&client.scope)
        .bind(client.created_at)
}

/// A write's outcome, `None` when the server it names was deleted meanwhile.
fn gone_if_fk<T>(done: Result<T, sqlx::Error>) -> StoreResult<Option<T>> {
    match done {
        Ok(value) => Ok(Some(value)),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
