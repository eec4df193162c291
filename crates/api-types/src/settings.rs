//! A user's preferences for new conversations (`GET` / `PUT /api/v1/settings`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// What a new conversation gets when its creator names no model or system prompt. Applied by
/// the chat service, so API clients get it too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct UserSettings {
    /// Model for new conversations that name none; `null`: the server's default model.
    pub default_model: Option<String>,
    /// System prompt for new conversations that send none; `null`: none.
    pub default_system_prompt: Option<String>,
}

/// `PUT /api/v1/settings` body. A field left out (or `null`) stays as it is; `""` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct UpdateSettings {
    #[serde(default)]
    #[schema(schema_with = crate::rules::schema::model_or_null)]
    pub default_model: Option<String>,
    #[serde(default)]
    #[schema(schema_with = crate::rules::schema::system_prompt_or_null)]
    pub default_system_prompt: Option<String>,
}
