//! Request logging that records the path but never the query string, where WebSocket clients
//! put their tokens (`?token=…`).

use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};

#[derive(Clone, Copy, Debug, Default)]
pub struct PathOnlySpan;

impl<B> MakeSpan<B> for PathOnlySpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
    }
}

/// The tracing layer every service uses.
pub fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, PathOnlySpan> {
    TraceLayer::new_for_http().make_span_with(PathOnlySpan)
}
