//! The interactive API reference at `/docs`: Swagger UI, served from the binary itself.
//!
//! The viewer's files come from `utoipa-swagger-ui` (built for our `utoipa`), whose `vendored`
//! feature takes Swagger UI's release archive from a crate on crates.io, so neither the build nor
//! the page ever reaches the internet: the reference works on a machine without it, in
//! `openchat serve` as in `openchat auth` / `openchat chat` alone. Its `gzip` feature stores the
//! files compressed (about 1.1 MB in the binary instead of 4.3 MB); browsers take them as they
//! are, other clients get them inflated.

use std::io::Read;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_swagger_ui::Config;

use super::ApiError;

/// The only places the page and its files may load from or talk to: this server. Swagger UI's
/// stylesheet draws its icons as `data:` SVG images, hence `img-src data:`; nothing else of it
/// needs an exception (no inline script — its configuration is the separate
/// `swagger-initializer.js` — and no inline `<style>`). "Try it out" calls this same server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Swagger UI's settings, written into `swagger-initializer.js`: our document; the plain layout
/// (the standalone one adds a bar where a visitor could load any other document by URL); no
/// online validator (Swagger UI would otherwise send the document's URL to validator.swagger.io
/// for a badge).
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(Config::new(["/openapi.json"]).use_base_layout().validator_url("none").deep_linking(true))
});

/// `GET /docs` (also with a trailing slash) and its files under `/docs/`.
pub fn routes<S: Clone + Send + Sync + 'static>(title: &'static str) -> Router<S> {
    let page = move || async move { page(title) };
    Router::new().route("/docs", get(page)).route("/docs/", get(page)).route("/docs/{*file}", get(asset))
}

/// The page that loads Swagger UI, which then renders `/openapi.json`. Its files are named by
/// absolute paths, so it works with or without a trailing slash.
fn page(title: &str) -> Response {
    let title = title.replace(['<', '>', '&', '"'], "");
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<noscript>The interactive reference needs JavaScript. The raw document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"#
    );
    with_headers(Response::new(Body::from(html)), "text/html; charset=utf-8")
}

/// One of Swagger UI's files, by its name in the release (`swagger-ui-bundle.js`, …); a name
/// that is not one of them is a 404 (the lookup is an exact match in a table built at compile
/// time, so no path can reach anything else).
async fn asset(Path(file): Path<String>, request: HeaderMap) -> Response {
    let found = match utoipa_swagger_ui::serve(&file, CONFIG.clone()) {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(error) => return ApiError::internal(error).into_response(),
    };
    let content_type = match found.content_type.as_str() {
        text if text.starts_with("text/") || text.ends_with("javascript") => format!("{text}; charset=utf-8"),
        other => other.to_owned(),
    };
    let mut response = if !found.gzpipped {
        Response::new(Body::from(found.bytes.into_owned()))
    } else if super::accepts_gzip(&request) {
        let mut response = Response::new(Body::from(found.bytes.into_owned()));
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        match gunzip(&found.bytes) {
            Ok(bytes) => Response::new(Body::from(bytes)),
            Err(error) => return ApiError::internal(format!("embedded {file}: {error}")).into_response(),
        }
    };
    if found.gzpipped {
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    with_headers(response, &content_type)
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

fn not_found() -> Response {
    let error = ApiError::not_found("No such file in the API reference viewer.").into_response();
    with_headers(error, "application/json")
}

/// The policy, and headers that keep the files from being sniffed as another type or framed.
/// `no-cache`: the files keep their names across versions, so a browser must not reuse an old
/// one (without an ETag that means a fresh download, fine for a page visited rarely).
fn with_headers(mut response: Response, content_type: &str) -> Response {
    let h: &mut HeaderMap = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, value);
    }
    response
}
