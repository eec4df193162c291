use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// `openchat serve` as a child process on free loopback ports.
pub struct Server {
    child: Child,
    auth: String,
    chat: String,
    client: reqwest::Client,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Environment lifting the per-user and per-address WebSocket caps and the connection caps
/// (every bench client is on one address).
pub fn uncapped_sockets() -> Vec<(String, String)> {
    [
        ("OPENCHAT_WS_MAX_SOCKETS_PER_USER", "0"),
        ("OPENCHAT_WS_MAX_SOCKETS_PER_IP", "0"),
        ("OPENCHAT_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ("OPENCHAT_HTTP_MAX_CONNECTIONS", "12000"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .into()
}

impl Server {
    /// `openchat serve` (or, with `replica`, `openchat chat` sharing its auth server) with more
    /// environment variables.
    pub async fn start_with(
        binary: &str,
        fake: &fake_llm::FakeLlm,
        command: &str,
        env: &[(String, String)],
        replica: Option<&Server>,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("openchat-bench-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let auth_port = match replica {
            Some(server) => server.auth.rsplit(':').next().unwrap().parse().unwrap(),
            None => free_port(),
        };
        let chat_port = free_port();
        let child = Command::new(binary)
            .arg(command)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("OPENCHAT_DATA_DIR", &dir)
            .env("OPENCHAT_AUTH_HOST", "127.0.0.1")
            .env("OPENCHAT_AUTH_PORT", auth_port.to_string())
            .env("OPENCHAT_CHAT_HOST", "127.0.0.1")
            .env("OPENCHAT_CHAT_PORT", chat_port.to_string())
            .env("OPENCHAT_REGISTRATIONS_PER_HOUR", "1000000")
            .env("OPENAI_BASE_URL", fake.openai_base())
            .env("OPENAI_API_KEY", "bench")
            .env("OPENCHAT_LOCAL_MODEL", "off")
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("server.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .expect("openchat starts");
        eprintln!("server log: {}", dir.join("server.log").display());
        let server = Self {
            child,
            auth: format!("http://127.0.0.1:{auth_port}"),
            chat: format!("http://127.0.0.1:{chat_port}"),
            client: reqwest::Client::new(),
            _dir: TempDir(dir),
        };
        for url in [format!("{}/health", server.auth), format!("{}/health", server.chat)] {
            for attempt in 0.. {
                if server.client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                assert!(attempt < 200, "{url} never became healthy");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        server
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn auth_url(&self) -> &str {
        &self.auth
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.chat)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.chat.trim_start_matches("http://"))
    }

    pub async fn user(&self, name: &str) -> String {
        let body =
            json!({"username": name, "email": format!("{name}@example.com"), "password": "bench-password-1"});
        self.client.post(format!("{}/users/", self.auth)).json(&body).send().await.unwrap();
        let tokens: Value = self
            .client
            .post(format!("{}/auth/token", self.auth))
            .form(&[("username", name), ("password", "bench-password-1")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["access_token"].as_str().expect("login works").to_owned()
    }

    pub async fn conversation(&self, token: &str) -> String {
        let created: Value = self
            .client
            .post(self.url("/api/v1/conversations/"))
            .bearer_auth(token)
            .json(&json!({"title": "bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_owned()
    }
}
