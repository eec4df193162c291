//! Serving a service's OpenAPI document and its interactive reference.

use axum::Router;
use axum::routing::get;
use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Adds the `bearer` (JWT) security scheme that operations refer to.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// `GET /openapi.json` and `GET /docs`. The document is built on first request, not at start:
/// generating it touches code that an idle server would otherwise keep resident.
pub fn routes<S: Clone + Send + Sync + 'static>(
    document: fn() -> utoipa::openapi::OpenApi,
    title: &'static str,
) -> Router<S> {
    let json = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    let body =
                        json.get_or_init(|| document().to_json().expect("the OpenAPI document serialises"));
                    ([(axum::http::header::CONTENT_TYPE, "application/json")], body.clone())
                }
            }),
        )
        .merge(super::docs::routes(title))
}
