//! Kill `openchat serve` with SIGKILL in the middle of a reply, start it again: the user
//! message is there and the partial reply is marked `interrupted`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::both_backends;
use common::testing::{TestBackend, fresh_database, temp_dir};
use serde_json::{Value, json};

both_backends!(a_killed_process_leaves_the_reply_interrupted);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &[(String, String)]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_openchat"))
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openchat starts");
    Server { child }
}

async fn wait_healthy(client: &reqwest::Client, url: &str) {
    for _ in 0..200 {
        if client.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became healthy");
}

async fn a_killed_process_leaves_the_reply_interrupted(backend: TestBackend) {
    let fake = fake_llm::FakeLlm::start().await;
    let dir = temp_dir("openchat-restart");
    let (auth_port, chat_port) = (free_port(), free_port());
    let mut env = vec![
        ("OPENCHAT_DATA_DIR".to_owned(), dir.display().to_string()),
        ("OPENCHAT_AUTH_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("OPENCHAT_AUTH_PORT".to_owned(), auth_port.to_string()),
        ("OPENCHAT_CHAT_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("OPENCHAT_CHAT_PORT".to_owned(), chat_port.to_string()),
        ("OPENCHAT_WEB_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("OPENCHAT_WEB_PORT".to_owned(), "0".to_owned()),
        ("OPENAI_BASE_URL".to_owned(), fake.openai_base()),
        ("OPENAI_API_KEY".to_owned(), "test-key".to_owned()),
        ("OPENCHAT_LOCAL_MODEL".to_owned(), "off".to_owned()),
    ];
    if backend == TestBackend::Postgres {
        env.push(("OPENCHAT_CHAT_DATABASE_URL".to_owned(), fresh_database(backend, &dir, "chat.db").await));
    }
    let auth = format!("http://127.0.0.1:{auth_port}");
    let chat = format!("http://127.0.0.1:{chat_port}");
    let client = reqwest::Client::new();

    let mut server = start(&env);
    wait_healthy(&client, &format!("{auth}/health")).await;
    wait_healthy(&client, &format!("{chat}/health")).await;
    let user = json!({"username": "finn", "email": "finn@example.com", "password": "correct-horse-battery"});
    client.post(format!("{auth}/users/")).json(&user).send().await.unwrap();
    let login = || async {
        let tokens: Value = client
            .post(format!("{auth}/auth/token"))
            .form(&[("username", "finn"), ("password", "correct-horse-battery")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["access_token"].as_str().unwrap().to_owned()
    };
    let token = login().await;
    let created: Value = client
        .post(format!("{chat}/api/v1/conversations/"))
        .bearer_auth(&token)
        .json(&json!({"title": "Crash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let content = "[[words=3000]][[delay=10]]";
    let posted = client
        .post(format!("{chat}/api/v1/conversations/{id}/messages"))
        .bearer_auth(&token)
        .json(&json!({ "content": content }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    tokio::time::sleep(Duration::from_millis(1500)).await; // some text streamed and saved
    server.child.kill().unwrap(); // SIGKILL: no chance to clean up
    server.child.wait().unwrap();
    drop(server);

    let _server = start(&env);
    wait_healthy(&client, &format!("{chat}/health")).await;
    let token = login().await;
    let mut messages = Vec::new();
    // SQLite marks the reply at start; PostgreSQL (shared by replicas) once its lease runs out.
    for _ in 0..300 {
        let list: Value = client
            .get(format!("{chat}/api/v1/conversations/{id}/messages"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        messages = list.as_array().cloned().unwrap_or_default();
        if messages.last().is_some_and(|m| m["status"] == "interrupted") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["content"], content, "the user message survived");
    assert_eq!(messages[1]["status"], "interrupted");
    let partial = messages[1]["content"].as_str().unwrap();
    assert!(partial.starts_with("w1 w2 "), "the saved part of the reply is kept: {partial:.40}");
    assert!(fake.started() >= 1);
}
