//! The chat service's HTTP surface.

mod conversations;
mod generations;
mod mcp;
mod messages;
mod misc;
mod models;
mod openapi;
mod search;
mod settings;
mod tool_audit;
pub mod validate;
pub mod ws;

pub(crate) use messages::store_error;

use axum::Router;
use common::http::ApiError;

use crate::state::AppState;

/// Largest request body: a maximal message plus JSON overhead.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(misc::router())
        .merge(models::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(search::router())
        .merge(settings::router())
        .merge(mcp::router())
        .merge(generations::router())
        .merge(tool_audit::router())
        .merge(ws::router())
        .merge(openapi::router())
        .with_state(state.clone());
    common::http::finish_router(routes, &state.config.cors_origins, MAX_BODY_BYTES, state.metrics.clone())
}

pub(crate) fn conversation_not_found() -> ApiError {
    ApiError::not_found("Conversation not found")
}
