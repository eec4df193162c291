//! The web UI server (port 3000): the built React app, `/config.json` telling the app where the
//! auth server and the chat service are, and the security headers that keep model output from
//! ever running as code in the page.

mod assets;
mod headers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::config::Config;
use tokio::net::TcpListener;

pub use assets::Assets;
use headers::Endpoints;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("web UI directory {0} has no index.html: build it with `npm --prefix web run build`")]
    NotBuilt(String),
}

struct WebState {
    assets: Assets,
    endpoints: Endpoints,
}

pub struct App {
    listener: TcpListener,
    state: Arc<WebState>,
    http: common::config::HttpConfig,
    /// Not capped per address (`auth.trusted_proxies`).
    proxies: common::http::TrustedProxies,
}

/// Binds the port and picks the assets: the configured directory, else the embedded build.
pub async fn build(config: &Config) -> Result<App, BuildError> {
    let assets = match &config.web.dir {
        Some(dir) => {
            let assets = Assets::Dir(dir.clone());
            if assets.get("index.html").await.is_none() {
                return Err(BuildError::NotBuilt(dir.display().to_string()));
            }
            assets
        }
        None => Assets::Embedded,
    };
    if assets.get("index.html").await.is_none() {
        tracing::warn!(
            "this binary was built without the web UI: run `npm --prefix web ci && npm --prefix web run build`, \
             then rebuild, or set OPENCHAT_WEB_DIR to a built web/dist"
        );
    }
    let endpoints = Endpoints::new(&config.web, config.auth.port, config.chat.port);
    let addr = SocketAddr::new(config.web.host, config.web.port);
    let listener = TcpListener::bind(addr).await.map_err(|source| BuildError::Bind { addr, source })?;
    let state = Arc::new(WebState { assets, endpoints });
    Ok(App { listener, state, http: config.http.clone(), proxies: config.auth.trusted_proxies.clone() })
}

impl App {
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(port = self.port(), "web UI listening");
        common::http::serve(self.listener, router(self.state), &self.http, &self.proxies, shutdown).await
    }
}

fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/config.json", get(runtime_config))
        .fallback(get(static_file))
        .with_state(state)
        .layer(common::http::trace::layer())
}

async fn health() -> Response {
    let body = serde_json::json!({ "status": "healthy", "service": "web" });
    (headers::common(), axum::Json(body)).into_response()
}

/// Where the app finds the services, resolved for the host the browser used.
async fn runtime_config(State(state): State<Arc<WebState>>, request: HeaderMap) -> Response {
    let urls = state.endpoints.resolve(&request);
    let body = serde_json::json!({ "auth_url": urls.auth, "chat_url": urls.chat });
    let mut response = (headers::common(), axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn static_file(State(state): State<Arc<WebState>>, uri: Uri, request: HeaderMap) -> Response {
    let Some(path) = assets::clean_path(uri.path()) else {
        return not_found();
    };
    // A path without an extension is a route of the app (e.g. /chat/abc): answer with the app.
    let is_route = !path.rsplit('/').next().unwrap_or_default().contains('.');
    let path = if path.is_empty() || is_route { "index.html".to_owned() } else { path };
    let gzip = common::http::accepts_gzip(&request);
    let (body, compressed) = match gzip {
        true => match state.assets.get(&format!("{path}.gz")).await {
            Some(body) => (Some(body), true),
            None => (state.assets.get(&path).await, false),
        },
        false => (state.assets.get(&path).await, false),
    };
    let Some(body) = body else {
        return not_found();
    };
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    h.extend(headers::common());
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let mime = if mime.type_() == "text" || mime.subtype() == "javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if compressed {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    // Vite names built assets by content hash, so they never change; the page itself must be
    // revalidated to pick up a new build.
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if path == "index.html" {
        let urls = state.endpoints.resolve(&request);
        h.insert(header::CONTENT_SECURITY_POLICY, headers::content_security_policy(&urls));
    }
    response
}

fn not_found() -> Response {
    let mut response = common::http::ApiError::new(StatusCode::NOT_FOUND, "Not Found").into_response();
    response.headers_mut().extend(headers::common());
    response
}
