//! The chat service's HTTP surface.

mod conversations;
mod messages;
mod misc;
mod openapi;
pub mod validate;
mod ws;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use common::http::ApiError;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::state::AppState;

/// Largest request body: a maximal message plus JSON overhead.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let origins: Vec<HeaderValue> =
        state.config.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));
    Router::new()
        .merge(misc::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(ws::router())
        .merge(openapi::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
        .layer(common::http::trace::layer())
        .with_state(state)
}

pub(crate) fn conversation_not_found() -> ApiError {
    ApiError::not_found("Conversation not found")
}
