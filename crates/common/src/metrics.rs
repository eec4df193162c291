//! Prometheus metrics: each service keeps a registry of its own and serves it at `/metrics` in
//! the Prometheus text format (0.0.4). Every service counts its HTTP requests by route template,
//! method and status, with their latency ([`track`]); each adds its own metrics at build time
//! ([`Metrics::registry_mut`]). `/metrics` is not public: it answers a bearer token that is the
//! configured `metrics_token` ([`scraper_allowed`]) or, on each service, an administrator's
//! access token.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Seconds: from a cached token check (~0.1 ms) to a slow write (seconds).
const LATENCY_BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A histogram family's constructor (a plain function, so the family's type can be named).
pub type NewHistogram = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// One service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, NewHistogram>,
}

impl Metrics {
    /// A registry whose names start with `openchat_`, holding the HTTP metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("openchat");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, NewHistogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer's headers, by route template and method",
            latency.clone(),
        );
        Self { registry, requests, latency }
    }

    /// Where a service registers its own metrics, before it starts serving.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The exposition, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    fn record(&self, method: &'static str, route: String, status: u16, seconds: f64) {
        self.latency.get_or_create(&RouteLabels { method, route: route.clone() }).observe(seconds);
        self.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts the request and its latency, under its route's template (`/api/v1/conversations/{id}`,
/// never the path itself, so the label set stays small) or `unmatched`.
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics.record(method, route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the standard ones by name, any other as `other` (a client cannot
/// make up label values).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Whether the request's bearer token is the configured scraper token (compared in constant
/// time; an empty configured token lets nobody in this way).
pub fn scraper_allowed(headers: &HeaderMap, metrics_token: &str) -> bool {
    let Some(presented) = bearer(headers) else { return false };
    !metrics_token.is_empty() && constant_time_eq(presented.as_bytes(), metrics_token.as_bytes())
}

/// The request's bearer token, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The exposition as an HTTP answer.
pub fn exposition(metrics: &Metrics) -> Response {
    let content_type = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], metrics.render())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_template_and_render_as_prometheus_text() {
        let metrics = Metrics::new();
        metrics.record("GET", "/api/v1/conversations/{id}".into(), 200, 0.002);
        metrics.record("GET", "/api/v1/conversations/{id}".into(), 200, 0.004);
        let text = metrics.render();
        assert!(
            text.contains(
                "openchat_http_requests_total{method=\"GET\",route=\"/api/v1/conversations/{id}\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE openchat_http_request_duration_seconds histogram"), "{text}");
        assert!(text.contains("le=\"0.0025\"} 1"), "{text}");
    }

    #[test]
    fn only_the_configured_token_is_a_scraper() {
        let mut headers = HeaderMap::new();
        assert!(!scraper_allowed(&headers, "s3cret"));
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(scraper_allowed(&headers, "s3cret"));
        assert!(!scraper_allowed(&headers, "s3cre"));
        assert!(!scraper_allowed(&headers, ""));
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert!(!scraper_allowed(&headers, ""));
    }
}
