//! The auth server's HTTP surface: routes, layers, OpenAPI.

mod audit;
pub mod extract;
mod health;
mod openapi;
mod passwords;
pub mod users;

use axum::Router;

use crate::state::AppState;

/// Largest request body accepted (JSON or form): far above any legitimate request.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(health::router())
        .merge(users::router())
        .merge(passwords::router())
        .merge(crate::oauth::router())
        .merge(audit::router())
        .merge(openapi::router())
        .with_state(state.clone());
    common::http::finish_router(routes, &state.config.cors_origins, MAX_BODY_BYTES, state.metrics.clone())
}
