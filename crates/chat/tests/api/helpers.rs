use std::time::Duration;

use common::config::{Config, ProviderConfig, ProviderKind};
use common::testing::{TestBackend, fresh_database, temp_dir};
use fake_llm::FakeLlm;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub use common::testing::TestBackend as Backend;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestChat {
    pub auth: String,
    pub base: String,
    pub client: reqwest::Client,
    pub fake: FakeLlm,
    pub config: Config,
    /// The chat service's state, to look inside (e.g. memory held for a user).
    pub chat_state: chat::state::AppState,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    /// Stops the auth server alone.
    auth_stop: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn config(backend: TestBackend, fake: &FakeLlm) -> Config {
    let dir = temp_dir("openchat-chat-test");
    let mut config = Config { data_dir: dir.clone(), ..Config::default() };
    config.auth.host = [127, 0, 0, 1].into();
    config.auth.port = 0;
    config.auth.ip_failures_per_minute = 10_000;
    config.auth.registrations_per_hour = 10_000;
    config.chat.host = [127, 0, 0, 1].into();
    config.chat.port = 0;
    config.chat.database_url = fresh_database(backend, &dir, "chat.db").await;
    config.chat.first_token_timeout_secs = 2;
    config.chat.idle_timeout_secs = 2;
    config.chat.providers = vec![ProviderConfig {
        kind: ProviderKind::Openai,
        name: Some("fake".into()),
        base_url: Some(fake.openai_base()),
        api_key: Some("test-key".into()),
        models: Vec::new(),
        allow: Vec::new(),
        deny: Vec::new(),
        hide_non_chat: None,
        max_tokens: None,
    }];
    // Tests that want the local model turn it on with a file of their own.
    config.chat.local.model = "off".into();
    // Write limits are off but where a test sets them (limits.rs).
    config.chat.limits = common::config::WriteLimits {
        messages_per_minute: 0,
        conversations_per_hour: 0,
        bytes_per_day: 0,
        max_conversations: 0,
        max_messages: 0,
        max_bytes: 0,
    };
    config
}

impl TestChat {
    pub async fn spawn(backend: TestBackend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> Self {
        common::telemetry::init(common::config::LogFormat::Pretty);
        let fake = FakeLlm::start().await;
        let mut config = config(backend, &fake).await;
        adjust(&mut config);
        Self::start(config, fake).await
    }

    /// Starts auth and chat on `config` (the auth port is filled in for the JWKS URL).
    pub async fn start(mut config: Config, fake: FakeLlm) -> Self {
        let auth = auth::build(&config).await.expect("auth builds");
        let auth_port = auth.port();
        config.chat.jwks_url = format!("http://127.0.0.1:{auth_port}/.well-known/jwks.json");
        let registry = llm::Registry::start(
            chat::providers::configured(&config.chat),
            chat::providers::registry_options(&config.chat),
        );
        let chat = chat::build(&config, registry).await.expect("chat builds");
        let chat_port = chat.port();
        let chat_state = chat.state().clone();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let (auth_stop, auth_stopped) = tokio::sync::watch::channel(false);
        let mut stopped_too = stopped.clone();
        let auth_until = async move {
            let mut auth_stopped = auth_stopped;
            tokio::select! {
                _ = auth_stopped.wait_for(|s| *s) => {}
                _ = stopped_too.wait_for(|s| *s) => {}
            }
        };
        let tasks = vec![
            tokio::spawn(auth.run_until_stopped(auth_until)),
            tokio::spawn(chat.run_until_stopped(until(stopped))),
        ];
        Self {
            auth: format!("http://127.0.0.1:{auth_port}"),
            base: format!("http://127.0.0.1:{chat_port}"),
            client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            fake,
            config,
            chat_state,
            stop: Some(stop),
            auth_stop: Some(auth_stop),
            tasks,
        }
    }

    /// Stops the auth server (the chat service runs on without it): it stops listening and
    /// closes its idle connections.
    pub async fn stop_auth(&mut self) {
        if let Some(stop) = self.auth_stop.take() {
            let _ = stop.send(true);
        }
        self.tasks.remove(0).await.unwrap().unwrap();
    }

    /// Stops both services gracefully and returns the configuration (ports reset to 0).
    pub async fn stop(mut self) -> (Config, FakeLlm) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for task in self.tasks.drain(..) {
            task.await.unwrap().unwrap();
        }
        (self.config.clone(), self.fake.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.base.trim_start_matches("http://"))
    }

    /// Registers `username` and returns an access token.
    pub async fn user(&self, username: &str) -> String {
        let body =
            json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
        let response = self.client.post(format!("{}/users/", self.auth)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        self.login(username).await
    }

    /// An administrator `root` (created directly in the auth database) and their token.
    pub async fn admin(&self) -> String {
        let input = api_types::auth::CreateUser {
            username: "root".into(),
            email: "root@example.com".into(),
            password: PASSWORD.into(),
            full_name: None,
            roles: Some(vec!["admin".into()]),
        };
        let auth_db = auth::store::Db::connect(&self.config.auth.database_url(&self.config.data_dir))
            .await
            .expect("the auth database opens");
        auth::admin::create_user(&auth_db, &auth::passwords::Hasher::new(1), input)
            .await
            .expect("root is created");
        self.login("root").await
    }

    pub async fn login(&self, username: &str) -> String {
        let response = self
            .client
            .post(format!("{}/auth/token", self.auth))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        status_json(response).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        status_json(response).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self.client.put(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        status_json(response).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> StatusCode {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.unwrap().status()
    }

    /// Creates a conversation and returns its id.
    pub async fn conversation(&self, token: &str, title: &str) -> String {
        let (status, body) = self.post("/api/v1/conversations/", token, json!({"title": title})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Polls the messages until the last one is no longer streaming.
    pub async fn settled_messages(&self, token: &str, conversation: &str) -> Vec<Value> {
        for _ in 0..200 {
            let (_, messages) =
                self.get(&format!("/api/v1/conversations/{conversation}/messages"), token).await;
            let messages = messages.as_array().cloned().unwrap_or_default();
            if messages.last().is_some_and(|m| m["status"] != "streaming") {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the reply never settled");
    }

    pub async fn ws(&self, path: &str) -> Ws {
        let (socket, _) =
            tokio_tungstenite::connect_async(self.ws_url(path)).await.expect("websocket connects");
        Ws { socket }
    }
}

pub async fn status_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        },
    )
}

pub struct Ws {
    pub socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    pub async fn send(&mut self, action: &str, data: Value) {
        self.send_raw(&json!({"action": action, "data": data}).to_string()).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket.send(WsMessage::text(text)).await.unwrap();
    }

    /// The next JSON frame (10 s at most).
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a frame within 10 s")
                .expect("the socket is open")
                .expect("a valid frame");
            match frame {
                WsMessage::Text(text) => return serde_json::from_str(&text).unwrap(),
                WsMessage::Close(frame) => {
                    let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unzip();
                    return json!({"type": "__closed", "code": code, "reason": reason});
                }
                _ => continue,
            }
        }
    }

    /// Frames up to and including the first of type `kind`.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let done = frame["type"] == kind;
            assert_ne!(frame["type"], "__closed", "closed while waiting for {kind}: {frames:?}");
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }
}

/// The concatenated text of `delta` frames, checking that their `seq` counts 1, 2, 3, … from
/// `first_seq` without gaps or repeats.
pub fn text_of(frames: &[Value], first_seq: u64) -> String {
    let mut text = String::new();
    for (expected, frame) in (first_seq..).zip(frames.iter().filter(|f| f["type"] == "delta")) {
        assert_eq!(frame["seq"].as_u64().unwrap(), expected, "gap or repeat in {frames:?}");
        text.push_str(frame["text"].as_str().unwrap());
    }
    text
}
