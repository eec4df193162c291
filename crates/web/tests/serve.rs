//! The web server on a real port, serving a built app from a directory.

use common::config::Config;
use common::testing::temp_dir;

struct Web {
    base: String,
    client: reqwest::Client,
}

async fn start(configure: impl FnOnce(&mut Config)) -> Web {
    let dir = temp_dir("openchat-web");
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log('app')").unwrap();
    // A precompressed twin, as `npm run build` writes them.
    std::fs::write(dir.join("assets/app-1234.js.gz"), b"\x1f\x8bfake-gzip").unwrap();
    std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
    let mut config = Config::default();
    config.web.host = [127, 0, 0, 1].into();
    config.web.port = 0;
    config.web.dir = Some(dir);
    configure(&mut config);
    let app = web::build(&config).await.expect("web server starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    // No automatic decompression: the tests look at the encoding.
    let client = reqwest::Client::builder().build().unwrap();
    Web { base, client }
}

impl Web {
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().await.unwrap()
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn app_routes_get_the_page_with_its_security_headers() {
    let web = start(|_| {}).await;
    for path in ["/", "/c/abcdefghijkl", "/admin", "/login"] {
        let response = web.get(path, &[("host", "chat.example.org:3000")]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "x-frame-options"), "DENY");
        let csp = header(&response, "content-security-policy").to_owned();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("img-src 'self' data:;"), "{csp}");
        assert!(
            csp.contains(
                "connect-src 'self' http://chat.example.org:8001 http://chat.example.org:8000 ws://chat.example.org:8000;"
            ),
            "{csp}"
        );
        assert_eq!(response.text().await.unwrap(), "<!doctype html><title>app</title>");
    }
}

#[tokio::test]
async fn runtime_config_follows_the_host_or_the_configuration() {
    let web = start(|_| {}).await;
    let response = web.get("/config.json", &[("host", "10.0.0.5:3000")]).await;
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"auth_url": "http://10.0.0.5:8001", "chat_url": "http://10.0.0.5:8000"})
    );

    // A Host header that is not a host name cannot reach the policy or the config.
    let body: serde_json::Value =
        web.get("/config.json", &[("host", "x'; script-src *")]).await.json().await.unwrap();
    assert_eq!(body["auth_url"], "http://localhost:8001");

    let web = start(|c| {
        c.web.auth_url = "https://auth.example.org/".into();
        c.web.chat_url = "https://chat.example.org".into();
    })
    .await;
    let page = web.get("/", &[]).await;
    assert!(header(&page, "content-security-policy").contains("wss://chat.example.org"));
    let body: serde_json::Value = web.get("/config.json", &[]).await.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"auth_url": "https://auth.example.org", "chat_url": "https://chat.example.org"})
    );
}

#[tokio::test]
async fn built_assets_are_cached_forever_and_sent_compressed_when_accepted() {
    let web = start(|_| {}).await;
    let plain = web.get("/assets/app-1234.js", &[]).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&plain, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(plain.text().await.unwrap(), "console.log('app')");

    let gz = web.get("/assets/app-1234.js", &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(header(&gz, "content-encoding"), "gzip");
    assert_eq!(header(&gz, "vary"), "Accept-Encoding");
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"\x1f\x8bfake-gzip");

    let refused = web.get("/assets/app-1234.js", &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!(header(&refused, "content-encoding"), "");

    let icon = web.get("/favicon.svg", &[]).await;
    assert_eq!(header(&icon, "content-type"), "image/svg+xml");
}

#[tokio::test]
async fn missing_files_and_escapes_answer_404() {
    let web = start(|_| {}).await;
    for path in [
        "/assets/missing.js",
        "/..%2f..%2fetc%2fpasswd",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/x.png",
        "/%2fetc%2fpasswd",
    ] {
        let response = web.get(path, &[]).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["detail"], "Not Found");
    }
    let post = web.client.post(format!("{}/", web.base)).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(web.get("/health", &[]).await.json::<serde_json::Value>().await.unwrap()["status"], "healthy");
}

#[tokio::test]
async fn a_directory_without_a_build_is_refused_at_start() {
    let mut config = Config::default();
    config.web.port = 0;
    config.web.dir = Some(temp_dir("openchat-web-empty"));
    let error = web::build(&config).await.err().expect("refused");
    assert!(error.to_string().contains("npm --prefix web run build"), "{error}");
}
