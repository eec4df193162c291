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
