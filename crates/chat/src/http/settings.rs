//! The caller's preferences for new conversations: a default model and system prompt.

use super::messages::store_error;
use api_types::error::ErrorBody;
use api_types::settings::{UpdateSettings, UserSettings};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::http::{ApiResult, Json};

use super::validate;
use crate::auth::AuthUser;
use crate::state::AppState;
use crate::store::{SettingsPatch, SettingsRecord};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/settings", get(read).put(update))
}

fn to_wire(s: SettingsRecord) -> UserSettings {
    UserSettings { default_model: s.default_model, default_system_prompt: s.default_system_prompt }
}

/// The caller's settings (all `null` until set).
#[utoipa::path(get, operation_id = "read_settings", path = "/api/v1/settings", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = UserSettings), (status = 401, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> ApiResult<Json<UserSettings>> {
    let settings = state.db.settings(&claims.sub).await.map_err(store_error)?;
    Ok(Json(to_wire(settings)))
}

/// Change the caller's settings. A field left out stays as it is; `""` clears it. The default
/// model must be one of `GET /api/v1/models`; the system prompt is at most 16 000 characters.
#[utoipa::path(put, operation_id = "update_settings", path = "/api/v1/settings", tag = "settings", request_body = UpdateSettings,
    security(("bearer" = [])),
    responses((status = 200, body = UserSettings), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Json(body): Json<UpdateSettings>,
) -> ApiResult<Json<UserSettings>> {
    let registry = state.generations.registry();
    let patch = SettingsPatch {
        default_model: body
            .default_model
            .as_deref()
            .map(|m| validate::model_named("default_model", m, registry))
            .transpose()?,
        default_system_prompt: body
            .default_system_prompt
            .as_deref()
            .map(|p| validate::system_prompt_named("default_system_prompt", p))
            .transpose()?,
    };
    let settings = state
        .db
        .update_settings(&claims.sub, patch, common::clock::now_millis())
        .await
        .map_err(store_error)?;
    Ok(Json(to_wire(settings)))
}

/// A new conversation's model and system prompt: what its creator sent, else the creator's
/// defaults. `None` means "not sent"; an empty string means "none" (the server's default model,
/// no system prompt) even when the user has defaults. A default model that is no longer
/// offered is skipped rather than failing the creation.
pub(crate) async fn for_new_conversation(
    state: &AppState,
    owner_id: &str,
    model: Option<&str>,
    system_prompt: Option<&str>,
) -> ApiResult<(Option<String>, Option<String>)> {
    let registry = state.generations.registry();
    let defaults = if model.is_none() || system_prompt.is_none() {
        state.db.settings(owner_id).await.map_err(store_error)?
    } else {
        SettingsRecord::default()
    };
    let model = match model {
        Some(m) => validate::model(m, registry)?,
        None => defaults.default_model.and_then(|m| validate::model(&m, registry).ok().flatten()),
    };
    let system_prompt = match system_prompt {
        Some(p) => validate::system_prompt(p)?,
        None => defaults.default_system_prompt,
    };
    Ok((model, system_prompt))
}
