use std::time::Duration;

use api_types::auth::{CreateUser, TokenResponse};
use auth::store::Db;
use common::config::Config;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub use common::testing::TestBackend as Backend;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A fresh database URL for one test.
pub async fn fresh_database(backend: Backend, data_dir: &std::path::Path) -> String {
    common::testing::fresh_database(backend, data_dir, "auth.db").await
}

/// A test configuration: loopback, port 0, generous limits (tests that exercise the limits
/// lower them).
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config { data_dir: data_dir.to_owned(), ..Config::default() };
    config.auth.host = [127, 0, 0, 1].into();
    config.auth.port = 0;
    config.auth.ip_failures_per_minute = 10_000;
    config.auth.registrations_per_hour = 10_000;
    config.auth.hash_concurrency = 2;
    config
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        common::telemetry::init(common::config::LogFormat::Pretty);
        let data_dir = std::env::temp_dir().join(format!("openchat-test-{}", common::ids::random_id(10)));
        let mut config = test_config(&data_dir);
        config.auth.database_url = fresh_database(backend, &data_dir).await;
        adjust(&mut config);
        Self::start(config).await
    }

    /// Starts a server on an existing configuration (for restarts on the same database).
    pub async fn start(config: Config) -> Self {
        let app = auth::build(&config).await.expect("the auth server builds");
        let port = app.port();
        let db = app.state().db.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client,
            db,
            config,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub async fn stop(mut self) -> Config {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        self.config.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn register(&self, username: &str, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/users/"))
            .json(&json!({"username": username, "email": email, "password": password, "full_name": "Test User"}))
            .send()
            .await
            .unwrap()
    }

    /// Registers `username` with [`PASSWORD`] and returns its tokens.
    pub async fn user(&self, username: &str) -> TokenResponse {
        let response = self.register(username, &format!("{username}@example.com"), PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
        self.login(username, PASSWORD).await
    }

    /// Creates a user with roles directly (as `openchat admin create-user` does) and logs in.
    pub async fn user_with_roles(&self, username: &str, roles: &[&str]) -> TokenResponse {
        let input = CreateUser {
            username: username.into(),
            email: format!("{username}@example.com"),
            password: PASSWORD.into(),
            full_name: None,
            roles: Some(roles.iter().map(|r| r.to_string()).collect()),
        };
        auth::admin::create_user(&self.db, &auth::passwords::Hasher::new(1), input).await.unwrap();
        self.login(username, PASSWORD).await
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> Response {
        self.client.post(self.url("/auth/token")).form(form).send().await.unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> TokenResponse {
        let response = self.token_request(&[("username", username), ("password", password)]).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.client.put(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// Sends all `requests` at once and returns their statuses (in no particular order).
    pub async fn in_parallel(&self, requests: Vec<reqwest::RequestBuilder>) -> Vec<reqwest::StatusCode> {
        let mut set = tokio::task::JoinSet::new();
        for request in requests {
            set.spawn(async move { request.send().await.unwrap().status() });
        }
        set.join_all().await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    /// Moves the start of every session `secs` into the past, as if their users had logged in
    /// that long ago (the clock cannot be advanced in a test on a real server).
    pub async fn age_sessions(&self, secs: i64) {
        sqlx::query("UPDATE sessions SET created_at = created_at - $1")
            .bind(secs)
            .execute(self.db.pool())
            .await
            .unwrap();
    }

    /// Status and JSON body of `GET path`.
    pub async fn get_json(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self.get(path, token).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Status and JSON body of a response.
pub async fn status_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}
