//! The chat service's storage: conversations and messages, on SQLite or PostgreSQL through one
//! portable set of queries (see `common::db`).

mod conversations;
mod messages;

pub use conversations::{ConversationPatch, ConversationRecord};
pub use messages::{MessageRecord, NewMessage, Parent};

use common::db::{Backend, ConnectError};
use sqlx::AnyPool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The conversation was deleted while something was being added to it.
    #[error("the conversation no longer exists")]
    ConversationGone,
}

pub type StoreResult<T> = Result<T, StoreError>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let (pool, backend) = common::db::connect(url, &MIGRATOR).await?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}
