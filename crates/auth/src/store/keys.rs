use sqlx::Row;

use super::{Db, StoreResult};

/// A stored signing key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub kid: String,
    /// Base64 of the PKCS#8 DER private key.
    pub private_key: String,
    /// Base64url of the raw 32-byte public key.
    pub public_key: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

impl Db {
    /// Keys still worth knowing: unretired ones, and retired ones retired after `since`.
    pub async fn signing_keys(&self, since: i64) -> StoreResult<Vec<KeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key, created_at, retired_at FROM signing_keys \
             WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRecord {
                    kid: row.try_get("kid")?,
                    private_key: row.try_get("private_key")?,
                    public_key: row.try_get("public_key")?,
                    created_at: row.try_get("created_at")?,
                    retired_at: row.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Stores `key` and retires every other unretired key, atomically.
    pub async fn rotate_signing_key(&self, key: &KeyRecord, now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
