//! Helpers for the services' API tests (enabled by the `testing` feature).

use sqlx::Connection;

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// The server that test databases are created on: `OPENCHAT_TEST_POSTGRES_URL`, or the local
/// PostgreSQL every development and CI machine runs.
pub fn postgres_admin_url() -> String {
    std::env::var("OPENCHAT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A URL to a brand-new, empty database named `<file>` in `dir` (SQLite) or `oc_test_…`
/// (PostgreSQL; `scripts/test` drops leftovers before each run).
pub async fn fresh_database(backend: TestBackend, dir: &std::path::Path, file: &str) -> String {
    match backend {
        TestBackend::Sqlite => format!("sqlite://{}", dir.join(file).display()),
        TestBackend::Postgres => {
            let admin_url = postgres_admin_url();
            let name =
                format!("oc_test_{}", crate::ids::random_id(12).to_lowercase().replace(['-', '_'], "x"));
            let mut conn =
                sqlx::PgConnection::connect(&admin_url).await.expect("PostgreSQL must run on 127.0.0.1:5432");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE");
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
            format!("{base}/{name}")
        }
    }
}

/// A fresh temporary directory.
pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", crate::ids::random_id(10)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs each named `async fn name(backend: TestBackend)` of the current module on both
/// backends, as `on_sqlite::name` and `on_postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test] async fn $name() { super::$name($crate::testing::TestBackend::Sqlite).await } )*
        }
        mod on_postgres {
            $( #[tokio::test] async fn $name() { super::$name($crate::testing::TestBackend::Postgres).await } )*
        }
    };
}

/// Asserts that the server at `base` serves its API reference (`/docs`) from itself, without a
/// token: the page and every file it names answer 200 with their content type and a
/// Content-Security-Policy that allows nothing remote; the page names nothing remote; the big
/// files travel gzip-compressed to clients that take it and plain to the others; unknown files
/// are a JSON 404; `/openapi.json` is still the document.
pub async fn assert_api_reference_served(base: &str) {
    use reqwest::StatusCode;
    use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str, gzip: bool| {
        let request = client.get(format!("{base}{path}"));
        if gzip { request.header(ACCEPT_ENCODING, "gzip, deflate, br") } else { request }.send()
    };
    let header = |response: &reqwest::Response, name| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    };

    let mut page = String::new();
    for path in ["/docs", "/docs/"] {
        let response = get(path, true).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
        assert_local_only(&header(&response, CONTENT_SECURITY_POLICY));
        assert_eq!(header(&response, reqwest::header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        page = response.text().await.unwrap();
    }
    assert!(!page.contains("//"), "the page names nothing on another host:\n{page}");
    assert!(!page.contains("<script>") && !page.contains("<style"), "no inline script or style:\n{page}");
    let files: Vec<&str> = page.split('"').filter(|s| s.starts_with("/docs/")).collect();
    for file in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
    ] {
        assert!(files.contains(&format!("/docs/{file}").as_str()), "the page loads {file}: {files:?}");
    }

    for file in &files {
        let expected_type = match file.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "png" => "image/png",
            other => panic!("unexpected file type {other} in {file}"),
        };
        let zipped = get(file, true).await.unwrap();
        assert_eq!(zipped.status(), StatusCode::OK, "{file}");
        assert_eq!(header(&zipped, CONTENT_TYPE), expected_type, "{file}");
        assert_local_only(&header(&zipped, CONTENT_SECURITY_POLICY));
        let encoding = header(&zipped, CONTENT_ENCODING);
        let zipped = zipped.bytes().await.unwrap();
        let plain = get(file, false).await.unwrap();
        assert_eq!(plain.status(), StatusCode::OK, "{file}");
        assert_eq!(header(&plain, CONTENT_TYPE), expected_type, "{file}");
        assert_local_only(&header(&plain, CONTENT_SECURITY_POLICY));
        assert_eq!(header(&plain, CONTENT_ENCODING), "", "{file} is plain for a client without gzip");
        let plain = plain.bytes().await.unwrap();
        if file.ends_with("swagger-ui-bundle.js") {
            assert_eq!(encoding, "gzip", "the bundle is sent compressed");
            assert_eq!(&zipped[..2], &[0x1f, 0x8b], "gzip data");
            assert!(zipped.len() * 2 < plain.len(), "{} compressed, {} plain", zipped.len(), plain.len());
            assert!(String::from_utf8_lossy(&plain).contains("SwaggerUIBundle"), "the inflated bundle");
        }
        if file.ends_with(".png") {
            assert_eq!(&plain[..4], b"\x89PNG");
        }
    }

    let initializer = get("/docs/swagger-initializer.js", true).await.unwrap().text().await.unwrap();
    for setting in [r#""url": "/openapi.json""#, r#""validatorUrl": "none""#, r#""layout": "BaseLayout""#] {
        assert!(initializer.contains(setting), "{setting} in:\n{initializer}");
    }

    for missing in ["/docs/nope.js", "/docs/..%2fopenapi.json", "/docs/dist/index.css"] {
        let response = get(missing, true).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        assert_local_only(&header(&response, CONTENT_SECURITY_POLICY));
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{missing}: {body}");
    }

    let document = get("/openapi.json", false).await.unwrap();
    assert_eq!(document.status(), StatusCode::OK);
    assert_eq!(header(&document, CONTENT_TYPE), "application/json");
    let document: serde_json::Value = document.json().await.unwrap();
    assert!(document["paths"].as_object().is_some_and(|p| !p.is_empty()));
}

/// Every source in `csp` is this server (`'self'`), nothing (`'none'`), or `data:` images;
/// scripts are files of this server only.
fn assert_local_only(csp: &str) {
    assert!(!csp.is_empty(), "a Content-Security-Policy is sent");
    let mut directives = std::collections::HashMap::new();
    for directive in csp.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let mut words = directive.split_whitespace();
        let name = words.next().unwrap();
        let sources: Vec<&str> = words.collect();
        for source in &sources {
            let allowed = matches!(*source, "'self'" | "'none'") || (name == "img-src" && *source == "data:");
            assert!(allowed, "{name} allows {source} in {csp}");
        }
        directives.insert(name, sources);
    }
    assert_eq!(directives.get("default-src"), Some(&vec!["'self'"]), "{csp}");
    assert_eq!(directives.get("script-src"), Some(&vec!["'self'"]), "{csp}");
    assert_eq!(directives.get("frame-ancestors"), Some(&vec!["'none'"]), "{csp}");
}
