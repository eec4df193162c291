use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreResult, on_unique};

/// The SQL condition of an active administrator.
macro_rules! active_admin {
    () => {
        "is_active = 1 AND (roles = 'admin' OR roles LIKE 'admin,%')"
    };
}
use crate::domain::RoleSet;

/// A stored user.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub password_hash: String,
    pub roles: RoleSet,
    pub is_active: bool,
    /// Access tokens with an `iat` before this instant are refused.
    pub tokens_valid_after: i64,
    pub created_at: i64,
}

impl UserRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            full_name: row.try_get("full_name")?,
            password_hash: row.try_get("password_hash")?,
            roles: RoleSet::from_db(&row.try_get::<String, _>("roles")?),
            is_active: row.try_get::<i64, _>("is_active")? != 0,
            tokens_valid_after: row.try_get("tokens_valid_after")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// What creating a user needs; values are already validated.
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub password_hash: String,
    pub roles: RoleSet,
    pub now: i64,
}

/// A partial update; `None` leaves a field unchanged. `revoke_tokens_at` moves the
/// "tokens valid after" cut-off.
#[derive(Default)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub full_name: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub is_active: Option<bool>,
    pub roles: Option<RoleSet>,
    pub revoke_tokens_at: Option<i64>,
}

/// One page of users and the total that matched.
pub struct UserPage {
    pub users: Vec<UserRecord>,
    pub total: i64,
}

/// The columns of a [`UserRecord`], as a literal so queries stay static strings.
macro_rules! columns {
    () => {
        "id, username, email, full_name, password_hash, roles, is_active, tokens_valid_after, created_at"
    };
}

/// The search filter of [`Db::list_users`]; `$1` is a LIKE pattern or NULL.
macro_rules! user_filter {
    () => {
        "($1 IS NULL OR username LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\' \
         OR LOWER(COALESCE(full_name, '')) LIKE $1 ESCAPE '\\')"
    };
}

impl Db {
    pub async fn insert_user(&self, user: NewUser) -> StoreResult<UserRecord> {
        let row = sqlx::query(concat!(
            "INSERT INTO users (id, username, email, full_name, password_hash, roles, is_active, \
             tokens_valid_after, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, 0, $7, $7) RETURNING ",
            columns!()
        ))
        .bind(user.id)
        .bind(user.username)
        .bind(user.email)
        .bind(user.full_name)
        .bind(user.password_hash)
        .bind(user.roles.to_db())
        .bind(user.now)
        .fetch_one(&self.pool)
        .await
        .map_err(on_unique)?;
        UserRecord::from_row(&row)
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.user_where(concat!("SELECT ", columns!(), " FROM users WHERE username = $1"), username).await
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        self.user_where(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"), id).await
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        self.user_where(concat!("SELECT ", columns!(), " FROM users WHERE email = $1"), email).await
    }

    async fn user_where(&self, query: &'static str, value: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(query).bind(value).fetch_optional(&self.pool).await?;
        row.as_ref().map(UserRecord::from_row).transpose()
    }

    /// Users whose username, email or full name contains `q` (case-insensitive), by username.
    pub async fn list_users(&self, q: Option<&str>, limit: i64, offset: i64) -> StoreResult<UserPage> {
        let pattern = q.map(|q| format!("%{}%", common::db::escape_like(&q.to_lowercase())));
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE ",
            user_filter!(),
            " ORDER BY username LIMIT $2 OFFSET $3"
        ))
        .bind(pattern.clone())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM users WHERE ", user_filter!()))
            .bind(pattern)
            .fetch_one(&self.pool)
            .await?;
        let users = rows.iter().map(UserRecord::from_row).collect::<StoreResult<_>>()?;
        Ok(UserPage { users, total })
    }

    /// Applies `update` to the user and returns the new record (`None` if there is no such user).
    pub async fn update_user(
        &self,
        id: &str,
        update: UserUpdate,
        now: i64,
    ) -> StoreResult<Option<UserRecord>> {
        let full_name_given = update.full_name.is_some();
        let cut_off = update.revoke_tokens_at;
        // A change of roles or a disabling may remove an administrator: it runs with the
        // administrators locked, so two of them demoting each other cannot both pass.
        let may_remove_admin = update.roles.is_some() || update.is_active == Some(false);
        let (mut tx, admins_before) = if may_remove_admin {
            let (tx, count) = self.lock_admins().await?;
            (tx, Some(count))
        } else {
            (self.pool.begin().await?, None)
        };
        let row = sqlx::query(concat!(
            "UPDATE users SET \
               email = COALESCE($2, email), \
               full_name = CASE WHEN $3 = 1 THEN $4 ELSE full_name END, \
               password_hash = COALESCE($5, password_hash), \
               is_active = COALESCE($6, is_active), \
               roles = COALESCE($7, roles), \
               tokens_valid_after = CASE WHEN $8 > tokens_valid_after THEN $8 ELSE tokens_valid_after END, \
               updated_at = $9 \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id)
        .bind(update.email)
        .bind(i64::from(full_name_given))
        .bind(update.full_name.flatten())
        .bind(update.password_hash)
        .bind(update.is_active.map(i64::from))
        .bind(update.roles.map(|r| r.to_db()))
        .bind(update.revoke_tokens_at.unwrap_or(0))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(on_unique)?;
        if let (Some(not_before), Some(_)) = (cut_off, &row) {
            super::revocations::record(&mut tx, "user", id, not_before).await?;
        }
        if let Some(before) = admins_before {
            ensure_an_admin_remains(&mut tx, before).await?;
        }
        tx.commit().await?;
        row.as_ref().map(UserRecord::from_row).transpose()
    }

    /// Begins a transaction that holds the lock on the active administrators until it ends
    /// (PostgreSQL: their rows `FOR UPDATE`; SQLite: the database's write lock, taken at
    /// `BEGIN IMMEDIATE`), and counts them.
    async fn lock_admins(&self) -> StoreResult<(sqlx::Transaction<'static, sqlx::Any>, i64)> {
        let mut tx = match self.backend {
            super::Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            super::Backend::Postgres => self.pool.begin().await?,
        };
        let lock = match self.backend {
            super::Backend::Sqlite => concat!("SELECT id FROM users WHERE ", active_admin!()),
            super::Backend::Postgres => {
                concat!("SELECT id FROM users WHERE ", active_admin!(), " FOR UPDATE")
            }
        };
        let admins = sqlx::query(lock).fetch_all(&mut *tx).await?;
        Ok((tx, admins.len() as i64))
    }

    /// Deletes a user and everything that hangs off it. Returns whether it existed.
    /// Refused ([`StoreError::LastAdmin`](super::StoreError::LastAdmin)) if it would leave
    /// no active administrator where there was one.
    pub async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let (mut tx, admins_before) = self.lock_admins().await?;
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if deleted.rows_affected() > 0 {
            super::revocations::record(&mut tx, "user", id, super::FOREVER).await?;
        }
        ensure_an_admin_remains(&mut tx, admins_before).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// How many active administrators there are (for the bootstrap, and so that the last
    /// one cannot be removed).
    pub async fn active_admin_count(&self) -> StoreResult<i64> {
        let count: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM users WHERE ", active_admin!()))
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}

/// Within a transaction that [locked the administrators](Db::lock_admins): refuses (and so
/// rolls back) a change that left none where there were some.
async fn ensure_an_admin_remains(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    before: i64,
) -> StoreResult<()> {
    let after: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM users WHERE ", active_admin!()))
        .fetch_one(&mut **tx)
        .await?;
    if before > 0 && after == 0 {
        return Err(super::StoreError::LastAdmin);
    }
    Ok(())
}
