//! MCP servers: a user's own, and those an administrator offers to everyone or to a role.

use api_types::mcp::McpScope;
use common::db::Backend;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreResult, flag};

/// One stored server; `secret` is sealed (see `tools::secrets`), `config` JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServerRecord {
    pub id: String,
    pub owner_id: Option<String>,
    pub scope: McpScope,
    pub role: Option<String>,
    pub name: String,
    pub description: String,
    pub server_url: String,
    pub is_active: bool,
    pub config: String,
    pub secret: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A change: `None` leaves a field as it is; for `secret` and `role`, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct McpServerPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub server_url: Option<String>,
    pub is_active: Option<bool>,
    pub config: Option<String>,
    pub secret: Option<Option<String>>,
    pub scope: Option<McpScope>,
    pub role: Option<Option<String>>,
}

macro_rules! columns {
    () => {
        "id, owner_id, scope, role, name, description, server_url, is_active, config, secret, created_at, updated_at"
    };
}

/// Most servers one user may register.
pub const MAX_SERVERS_PER_USER: i64 = 50;

impl McpServerRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        let scope: String = row.try_get("scope")?;
        Ok(Self {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            scope: McpScope::parse(&scope).unwrap_or(McpScope::User),
            role: row.try_get("role")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            server_url: row.try_get("server_url")?,
            is_active: row.try_get::<i64, _>("is_active")? != 0,
            config: row.try_get("config")?,
            secret: row.try_get("secret")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Whether a user with these roles may use the server (whoever owns it).
    pub fn usable_by(&self, user_id: &str, roles: &[String]) -> bool {
        match self.scope {
            McpScope::User => self.owner_id.as_deref() == Some(user_id),
            McpScope::Global => true,
            McpScope::Role => self.role.as_ref().is_some_and(|r| roles.contains(r)),
        }
    }
}

impl Db {
    /// Stores a server; with `cap`, only while its owner has fewer than that (false otherwise).
    /// Counting and inserting are one step, so parallel requests cannot pass the cap together:
    /// one statement on SQLite (its writes are serial), under a per-owner transaction lock on
    /// PostgreSQL.
    pub async fn insert_mcp_server(&self, server: &McpServerRecord, cap: Option<i64>) -> StoreResult<bool> {
        let insert = sqlx::query(
            "INSERT INTO mcp_servers (id, owner_id, scope, role, name, description, server_url, is_active, \
             config, secret, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 \
             WHERE $13 IS NULL OR (SELECT COUNT(*) FROM mcp_servers WHERE owner_id = $2) < $13",
        )
        .bind(&server.id)
        .bind(&server.owner_id)
        .bind(server.scope.as_str())
        .bind(&server.role)
        .bind(&server.name)
        .bind(&server.description)
        .bind(&server.server_url)
        .bind(flag(server.is_active))
        .bind(&server.config)
        .bind(&server.secret)
        .bind(server.created_at)
        .bind(server.updated_at)
        .bind(cap);
        let inserted = match (self.backend, &server.owner_id, cap) {
            (Backend::Postgres, Some(owner), Some(_)) => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("mcp_servers:{owner}"))
                    .execute(&mut *tx)
                    .await?;
                let inserted = insert.execute(&mut *tx).await?;
                tx.commit().await?;
                inserted
            }
            _ => insert.execute(&self.pool).await?,
        };
        Ok(inserted.rows_affected() == 1)
    }

    /// How many servers a user has registered.
    pub async fn count_mcp_servers(&self, owner_id: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM mcp_servers WHERE owner_id = $1")
            .bind(owner_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn mcp_server(&self, id: &str) -> StoreResult<Option<McpServerRecord>> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM mcp_servers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(McpServerRecord::from_row).transpose()
    }

    /// The servers a user may see: their own and the administrators' (filtered by role by the
    /// caller), oldest first.
    pub async fn mcp_servers_for(&self, owner_id: &str) -> StoreResult<Vec<McpServerRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM mcp_servers WHERE owner_id = $1 OR scope <> 'user' ORDER BY created_at, id"
        ))
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(McpServerRecord::from_row).collect()
    }

    /// The administrators' servers (for everyone or a role), oldest first.
    pub async fn shared_mcp_servers(&self) -> StoreResult<Vec<McpServerRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM mcp_servers WHERE scope <> 'user' ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(McpServerRecord::from_row).collect()
    }

    /// Applies `patch`; the changed server, or `None` if it is gone.
    pub async fn update_mcp_server(
        &self,
        id: &str,
        patch: McpServerPatch,
        now: i64,
    ) -> StoreResult<Option<McpServerRecord>> {
        let row = sqlx::query(concat!(
            "UPDATE mcp_servers SET \
               name = COALESCE($2, name), description = COALESCE($3, description), \
               server_url = COALESCE($4, server_url), is_active = COALESCE($5, is_active), \
               config = COALESCE($6, config), \
               secret = CASE WHEN $7 = 1 THEN $8 ELSE secret END, \
               scope = COALESCE($9, scope), \
               role = CASE WHEN $10 = 1 THEN $11 ELSE role END, \
               updated_at = $12 \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id)
        .bind(patch.name)
        .bind(patch.description)
        .bind(patch.server_url)
        .bind(patch.is_active.map(flag))
        .bind(patch.config)
        .bind(flag(patch.secret.is_some()))
        .bind(patch.secret.flatten())
        .bind(patch.scope.map(McpScope::as_str))
        .bind(flag(patch.role.is_some()))
        .bind(patch.role.flatten())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(McpServerRecord::from_row).transpose()
    }

    /// Deletes a server (and what its users chose about its tools, and their sign-ins to it);
    /// whether it existed.
    pub async fn delete_mcp_server(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        for statement in [
            "DELETE FROM mcp_tool_approvals WHERE server_id = $1",
            "DELETE FROM mcp_oauth_pending WHERE server_id = $1",
            "DELETE FROM mcp_oauth_tokens WHERE server_id = $1",
            "DELETE FROM mcp_oauth_clients WHERE server_id = $1",
        ] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM mcp_servers WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The tools of every server that wait for `user_id`'s approval: (server id, tool name),
    /// in order.
    pub async fn ask_before(&self, user_id: &str) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT server_id, tool FROM mcp_tool_approvals WHERE user_id = $1 ORDER BY server_id, tool",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("server_id")?, row.try_get("tool")?))).collect()
    }

    /// Sets which of a server's tools wait for `user_id`'s approval (replacing the earlier list);
    /// false if the server is gone (deleted meanwhile).
    pub async fn set_ask_before(
        &self,
        server_id: &str,
        user_id: &str,
        tools: &[String],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM mcp_tool_approvals WHERE user_id = $1 AND server_id = $2")
            .bind(user_id)
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        for tool in tools {
            let inserted =
                sqlx::query("INSERT INTO mcp_tool_approvals (server_id, user_id, tool) VALUES ($1, $2, $3)")
                    .bind(server_id)
                    .bind(user_id)
                    .bind(tool)
                    .execute(&mut *tx)
                    .await;
            match inserted {
                // The server was deleted meanwhile (its approvals go with it).
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => return Ok(false),
                other => other?,
            };
        }
        tx.commit().await?;
        Ok(true)
    }
}
