use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
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
