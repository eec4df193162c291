use sqlx::Row;

use super::{Db, StoreResult, flag};

/// A user's preferences for new conversations; all empty when the user has set none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsRecord {
    pub default_model: Option<String>,
    pub default_system_prompt: Option<String>,
}

/// A partial update: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct SettingsPatch {
    pub default_model: Option<Option<String>>,
    pub default_system_prompt: Option<Option<String>>,
}

impl Db {
    pub async fn settings(&self, owner_id: &str) -> StoreResult<SettingsRecord> {
        let row =
            sqlx::query("SELECT default_model, default_system_prompt FROM user_settings WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(row) => SettingsRecord {
                default_model: row.try_get("default_model")?,
                default_system_prompt: row.try_get("default_system_prompt")?,
            },
            None => SettingsRecord::default(),
        })
    }

    /// Applies `patch` (creating the row on first use) and returns the result.
    pub async fn update_settings(
        &self,
        owner_id: &str,
        patch: SettingsPatch,
        now: i64,
    ) -> StoreResult<SettingsRecord> {
        let row = sqlx::query(
            "INSERT INTO user_settings (owner_id, default_model, default_system_prompt, updated_at) \
             VALUES ($1, $3, $5, $6) \
             ON CONFLICT (owner_id) DO UPDATE SET \
               default_model = CASE WHEN $2 = 1 THEN $3 ELSE user_settings.default_model END, \
               default_system_prompt = CASE WHEN $4 = 1 THEN $5 ELSE user_settings.default_system_prompt END, \
               updated_at = $6 \
             RETURNING default_model, default_system_prompt",
        )
        .bind(owner_id)
        .bind(flag(patch.default_model.is_some()))
        .bind(patch.default_model.flatten())
        .bind(flag(patch.default_system_prompt.is_some()))
        .bind(patch.default_system_prompt.flatten())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(SettingsRecord {
            default_model: row.try_get("default_model")?,
            default_system_prompt: row.try_get("default_system_prompt")?,
        })
    }
}
