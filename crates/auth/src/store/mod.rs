//! Storage on SQLite or PostgreSQL through one portable set of queries (`$n` parameters,
//! BIGINT times and flags, TEXT everything else), so both backends run the same code and the
//! same tests.

mod audit;
mod keys;
mod revocations;
mod sessions;
mod users;

pub use audit::AuditRecord;
pub use keys::KeyRecord;
pub use revocations::{FOREVER, RevocationRecord};
pub use sessions::{RefreshOutcome, SessionRecord};
pub use users::{NewUser, UserPage, UserRecord, UserUpdate};

pub use common::db::Backend;
use common::db::ConnectError;
use sqlx::AnyPool;

/// Storage errors. `Conflict` names the unique field that clashed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already registered")]
    Conflict(&'static str),
    #[error("This is the last active administrator; appoint another one first")]
    LastAdmin,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The auth server's database.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects (creating a SQLite file and its directory if needed) and applies migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let (pool, backend) = common::db::connect(url, &MIGRATOR).await?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A trivial query, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`] naming the field.
fn on_unique(error: sqlx::Error) -> StoreError {
    if let Some(message) = common::db::unique_violation(&error) {
        if message.contains("email") {
            return StoreError::Conflict("Email");
        }
        return StoreError::Conflict("Username");
    }
    StoreError::Database(error)
}
