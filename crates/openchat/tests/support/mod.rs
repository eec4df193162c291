//! Runs the real `openchat serve` binary for end-to-end tests, and talks to it over HTTP and
//! WebSocket like any client.

#![allow(dead_code)] // each test binary uses its own part of this

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const PASSWORD: &str = "correct-horse-battery";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `openchat serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub auth: String,
    pub chat: String,
    pub client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ports and a data directory for one server, as environment variables; the caller adds the
/// providers.
pub struct Setup {
    pub env: Vec<(String, String)>,
    pub auth_port: u16,
    pub chat_port: u16,
    /// Where the server's standard error goes (appended); `None` inherits the test's.
    pub stderr: Option<std::path::PathBuf>,
}

impl Setup {
    pub fn new(data_dir: &std::path::Path) -> Self {
        let (auth_port, chat_port) = (free_port(), free_port());
        let env = [
            ("OPENCHAT_DATA_DIR", data_dir.display().to_string()),
            ("OPENCHAT_AUTH_HOST", "127.0.0.1".to_owned()),
            ("OPENCHAT_AUTH_PORT", auth_port.to_string()),
            ("OPENCHAT_CHAT_HOST", "127.0.0.1".to_owned()),
            ("OPENCHAT_CHAT_PORT", chat_port.to_string()),
            ("OPENCHAT_WEB_HOST", "127.0.0.1".to_owned()),
            ("OPENCHAT_WEB_PORT", "0".to_owned()),
        ];
        Self {
            env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            auth_port,
            chat_port,
            stderr: None,
        }
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.into()));
    }

    /// Starts the server and waits until both APIs answer.
    pub async fn start(&self) -> Server {
        let server = self.spawn("serve", self.chat_port);
        server.wait_healthy(&format!("{}/health", server.auth)).await;
        server.wait_healthy(&format!("{}/health", server.chat)).await;
        server
    }

    /// Starts `openchat auth` alone (its `chat` URL is `chat_port`'s, which it does not serve).
    pub async fn start_auth(&self) -> Server {
        let server = self.spawn("auth", self.chat_port);
        server.wait_healthy(&format!("{}/health", server.auth)).await;
        server
    }

    /// Starts one more `openchat chat` replica on a port of its own.
    pub async fn start_chat(&self) -> Server {
        let server = self.spawn("chat", free_port());
        server.wait_healthy(&format!("{}/health", server.chat)).await;
        server
    }

    fn spawn(&self, command: &str, chat_port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_openchat"))
            .arg(command)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("OPENCHAT_CHAT_PORT", chat_port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(match &self.stderr {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new().create(true).append(true).open(path).expect("stderr file"),
                ),
                None => Stdio::inherit(),
            })
            .spawn()
            .expect("openchat starts");
        Server {
            child,
            auth: format!("http://127.0.0.1:{}", self.auth_port),
            chat: format!("http://127.0.0.1:{chat_port}"),
            client: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        }
    }
}

impl Server {
    async fn wait_healthy(&self, url: &str) {
        for _ in 0..600 {
            if self.client.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{url} never became healthy");
    }

    /// Registers `username` (if new) and returns an access token.
    pub async fn user(&self, username: &str) -> String {
        let user =
            json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
        self.client.post(format!("{}/users/", self.auth)).json(&user).send().await.unwrap();
        self.login(username).await
    }

    pub async fn login(&self, username: &str) -> String {
        let tokens: Value = self
            .client
            .post(format!("{}/auth/token", self.auth))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["access_token"].as_str().expect("logged in").to_owned()
    }

    /// The chat service's `/health` body.
    pub async fn health(&self) -> Value {
        let response = self.client.get(format!("{}/health", self.chat)).send().await.unwrap();
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        let response =
            self.client.get(format!("{}{path}", self.chat)).bearer_auth(token).send().await.unwrap();
        response.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, token, body).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.chat);
        let response = self.client.request(method, url).bearer_auth(token).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// The messages of a conversation once its last reply has ended.
    pub async fn settled_messages(&self, token: &str, conversation: &str) -> Vec<Value> {
        for _ in 0..600 {
            let list = self.get(&format!("/api/v1/conversations/{conversation}/messages"), token).await;
            let messages = list.as_array().cloned().unwrap_or_default();
            if messages.last().is_some_and(|m| m["status"] != "streaming") {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the reply never settled");
    }

    /// A new conversation's id.
    pub async fn conversation(&self, token: &str, title: &str) -> String {
        let (_, created) = self.post("/api/v1/conversations/", token, json!({ "title": title })).await;
        created["id"].as_str().unwrap().to_owned()
    }

    pub async fn ws(&self, path: &str) -> Ws {
        let url = format!("ws://{}{path}", self.chat.trim_start_matches("http://"));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Ws { socket }
    }
}

pub struct Ws {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    pub async fn send(&mut self, action: &str, data: Value) {
        let frame = json!({"action": action, "data": data}).to_string();
        self.socket.send(WsMessage::text(frame)).await.unwrap();
    }

    /// The next JSON frame (60 s at most: the local model on a busy machine is slow).
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(60), self.socket.next())
                .await
                .expect("a frame within 60 s")
                .expect("the socket is open")
                .expect("a valid frame");
            if let WsMessage::Text(text) = frame {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// Frames up to and including the first of type `kind`.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let done = frame["type"] == kind;
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }
}

/// The text of the `delta` frames of one generation, checking `seq` counts 1, 2, 3, …
pub fn text_of(frames: &[Value]) -> String {
    let mut text = String::new();
    for (expected, frame) in (1..).zip(frames.iter().filter(|f| f["type"] == "delta")) {
        assert_eq!(frame["seq"].as_u64().unwrap(), expected, "gap or repeat in {frames:?}");
        text.push_str(frame["text"].as_str().unwrap());
    }
    text
}
