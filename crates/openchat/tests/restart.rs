//! Kill `openchat serve` with SIGKILL in the middle of a reply, start it again: the user
//! message is there and the partial reply is marked `interrupted`.

mod support;

use std::time::Duration;

use common::both_backends;
use common::testing::{TestBackend, fresh_database, temp_dir};
use serde_json::json;

use support::Setup;

both_backends!(a_killed_process_leaves_the_reply_interrupted);

async fn a_killed_process_leaves_the_reply_interrupted(backend: TestBackend) {
    let fake = fake_llm::FakeLlm::start().await;
    let dir = temp_dir("openchat-restart");
    let mut setup = Setup::new(&dir);
    setup.set("OPENAI_BASE_URL", fake.openai_base());
    setup.set("OPENAI_API_KEY", "test-key");
    setup.set("OPENCHAT_LOCAL_MODEL", "off");
    if backend == TestBackend::Postgres {
        setup.set("OPENCHAT_CHAT_DATABASE_URL", fresh_database(backend, &dir, "chat.db").await);
    }

    let mut server = setup.start().await;
    let token = server.user("finn").await;
    let id = server.conversation(&token, "Crash").await;
    let content = "[[words=3000]][[delay=10]]";
    let (status, _) = server
        .post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({ "content": content }))
        .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(1500)).await; // some text streamed and saved
    server.child.kill().unwrap(); // SIGKILL: no chance to clean up
    server.child.wait().unwrap();
    drop(server);

    let server = setup.start().await;
    let token = server.login("finn").await;
    let mut messages = Vec::new();
    // SQLite marks the reply at start; PostgreSQL (shared by replicas) once its lease runs out.
    for _ in 0..300 {
        let list = server.get(&format!("/api/v1/conversations/{id}/messages"), &token).await;
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
