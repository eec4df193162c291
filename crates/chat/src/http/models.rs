//! The models conversations can pick, each provider's state, and the admin's refresh.

use std::time::Duration;

use api_types::chat::{Model, ModelList, ProviderState, ProviderStatus};
use api_types::error::ErrorBody;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use common::http::{ApiError, ApiResult, Json};
use llm::{ProviderHealth, Registry};

use crate::auth::AuthUser;
use crate::state::AppState;

/// Longest an admin's refresh waits for the providers' answers.
const REFRESH_WAIT: Duration = Duration::from_secs(15);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/models", get(list)).route("/api/v1/models/refresh", post(refresh))
}

/// The models conversations can pick, the default, and each provider's state.
#[utoipa::path(get, operation_id = "list_models", path = "/api/v1/models", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, AuthUser(_): AuthUser) -> Json<ModelList> {
    Json(model_list(state.generations.registry()))
}

/// Reads every provider's model list again now (administrators), and answers the new lists.
#[utoipa::path(post, operation_id = "refresh_models", path = "/api/v1/models/refresh", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> ApiResult<Json<ModelList>> {
    if !claims.has_role("admin") {
        return Err(ApiError::forbidden("Only an administrator can refresh the model lists"));
    }
    let registry = state.generations.registry();
    registry.refresh(REFRESH_WAIT).await;
    Ok(Json(model_list(registry)))
}

fn model_list(registry: &Registry) -> ModelList {
    let time = |ms: i64| common::clock::rfc3339_millis(ms);
    ModelList {
        models: registry.models().into_iter().map(|m| Model { id: m.id, provider: m.provider }).collect(),
        default_model: registry.default_model(),
        providers: registry
            .providers()
            .into_iter()
            .map(|p| {
                let (state, unreachable_since, error) = match p.health {
                    ProviderHealth::Pending => (ProviderState::Pending, None, None),
                    ProviderHealth::Ok => (ProviderState::Ok, None, None),
                    ProviderHealth::Unreachable { since_ms, error } => {
                        (ProviderState::Unreachable, Some(time(since_ms)), Some(error))
                    }
                };
                ProviderStatus {
                    name: p.name,
                    state,
                    unreachable_since,
                    error,
                    models: p.models as u32,
                    hidden_models: p.hidden as u32,
                    refreshed_at: p.refreshed_ms.map(time),
                }
            })
            .collect(),
    }
}
