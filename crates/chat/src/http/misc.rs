use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::http::ApiError;
use serde_json::{Value, json};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/api/v1/chat/health", get(chat_health))
        .route("/metrics", get(metrics))
}

/// Prometheus metrics (text format 0.0.4), for the configured scraper token or an
/// administrator's access token; 401 without a token, 403 for anyone else.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !common::metrics::scraper_allowed(&headers, &state.metrics_token) {
        let Some(token) = common::metrics::bearer(&headers) else {
            return ApiError::unauthorized("Not authenticated", false).into_response();
        };
        match crate::auth::authenticate(&state, token).await {
            Ok(claims) if claims.has_role("admin") => {}
            Ok(_) => {
                let refusal = "Only administrators and the metrics scraper may read the metrics";
                return ApiError::forbidden(refusal).into_response();
            }
            Err(refused) => return refused.into_response(),
        }
    }
    let generations = &state.generations;
    let queues = generations.registry().queues();
    generations.metrics().set_current(state.sockets.total(), &queues, state.db.pool_use());
    common::metrics::exposition(&state.metrics)
}

async fn root() -> axum::Json<Value> {
    axum::Json(json!({"message": "Open ChatBot chat service", "version": env!("CARGO_PKG_VERSION")}))
}

/// Readiness, the same answer as `/health`.
#[utoipa::path(get, operation_id = "ready", path = "/ready", tag = "health", responses((status = 200), (status = 503)))]
pub async fn ready(state: State<AppState>) -> (StatusCode, axum::Json<Value>) {
    health(state).await
}

/// Liveness and readiness: 200 when the database answers, 503 otherwise. In a cluster,
/// `"cluster": "degraded"` (and `"status": "degraded"`, still 200: the replica serves its own
/// sockets) while Redis cannot be reached or this replica's subscription is being restored.
#[utoipa::path(get, operation_id = "health", path = "/health", tag = "health", responses((status = 200), (status = 503)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, axum::Json<Value>) {
    let database_ok = state.db.ping().await.is_ok();
    let cluster = match state.generations.bus().cluster() {
        None => "off",
        Some(cluster) if cluster.is_healthy() => "ok",
        Some(_) => "degraded",
    };
    let registry = state.generations.registry();
    let stale = state.revocations.staleness().as_secs();
    let fresh = stale <= state.config.revocations_max_stale_secs;
    let body = json!({
        "status": match (database_ok, cluster) {
            (false, _) => "unhealthy",
            (true, "degraded") => "degraded",
            (true, _) => "healthy",
        },
        "cluster": cluster,
        "service": "chat-service",
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database_ok { "ok" } else { "unreachable" },
        "providers": if registry.is_empty() { "none configured" } else { "configured" },
        "models": registry.models().len(),
        // "stale": tokens are refused (503) until the auth server's feed is read again.
        "revocations": if fresh { "ok" } else { "stale" },
        "revocations_age_secs": stale,
    });
    (if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body))
}

async fn chat_health(State(state): State<AppState>) -> axum::Json<Value> {
    let registry = state.generations.registry();
    axum::Json(json!({
        "chat_service": "active",
        "status": "healthy",
        "model_provider": if registry.is_empty() { "none" } else { "configured" },
    }))
}
