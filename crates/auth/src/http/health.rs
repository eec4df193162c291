use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::http::ApiError;
use serde_json::{Value, json};

use crate::principal::authenticate;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics))
}

/// Prometheus metrics (text format 0.0.4), for the configured scraper token or an
/// administrator's access token; 401 without a token, 403 for anyone else.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if common::metrics::scraper_allowed(&headers, &state.metrics_token) {
        return common::metrics::exposition(&state.metrics);
    }
    let Some(token) = common::metrics::bearer(&headers) else {
        return ApiError::unauthorized("Not authenticated", false).into_response();
    };
    match authenticate(&state, token).await {
        Ok(principal) if super::users::is_admin(&principal) => common::metrics::exposition(&state.metrics),
        Ok(_) => ApiError::forbidden("Only administrators and the metrics scraper may read the metrics")
            .into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Liveness and readiness: 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "Healthy"), (status = 503, description = "Database unreachable")))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, axum::Json<Value>) {
    let database_ok = state.db.ping().await.is_ok();
    let status = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if database_ok { "healthy" } else { "unhealthy" },
        "service": "auth-server",
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database_ok { "ok" } else { "unreachable" },
        "signing_key": state.keys.current_kid(),
    });
    (status, axum::Json(body))
}
