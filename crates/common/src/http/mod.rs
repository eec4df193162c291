//! The HTTP error shape shared by every service, and extractors whose rejections use it.

pub mod docs;
mod error;
mod extract;
pub mod openapi;
pub mod paging;
mod proxies;
mod serve;
pub mod trace;

pub use error::{ApiError, ApiResult};
pub use extract::{Form, Json, Query};
pub use proxies::TrustedProxies;
pub use serve::{ConnectionSlot, address_key, serve};

/// What every service's router ends with: JSON 404 and 405 answers, request metrics, a body
/// limit, the CORS allowlist (never a reflected origin; no credentials, as bearer tokens travel
/// in headers) and request tracing.
pub fn finish_router(
    router: axum::Router,
    cors_origins: &[String],
    max_body_bytes: usize,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) -> axum::Router {
    use axum::http::{HeaderValue, Method, StatusCode, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> =
        cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600));
    router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .layer(axum::middleware::from_fn_with_state(metrics, crate::metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .layer(cors)
        .layer(trace::layer())
}

/// Whether the request's `Accept-Encoding` takes gzip (listed, and not with `q=0`).
pub fn accepts_gzip(request: &axum::http::HeaderMap) -> bool {
    request
        .get_all(axum::http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}
