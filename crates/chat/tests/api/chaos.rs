//! Chaos: PostgreSQL restarts under load, and the disk fills up. The chat service runs on a
//! PostgreSQL of its own (a fresh cluster on a spare loopback port, never the shared one), or
//! on SQLite in a small tmpfs of its own; while the database is down or full every write is a
//! 503 with a `detail` (never a 500 or a hang), and once it is back the same process serves
//! again, with every message it accepted (201) stored and none it refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestChat};

/// A PostgreSQL cluster of this test's own, run as the `postgres` user (it refuses root).
struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl OwnPostgres {
    fn create() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries in /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|p| p.join("initdb").exists())
            .expect("initdb");
        let dir = common::testing::temp_dir("openchat-chaos-pg");
        let status = Command::new("chown").arg("postgres:postgres").arg(&dir).status().unwrap();
        assert!(status.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let this = Self { bin, dir, port };
        this.run("initdb", &["-D", &this.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        this.start();
        this
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        // From a folder the postgres user may enter (the checkout may be in a private one).
        let output = Command::new("runuser")
            .current_dir(&self.dir)
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .output()
            .expect("runuser runs");
        assert!(output.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn start(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &options, "-w", "start"]);
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(Path::new(&self.dir));
    }
}

#[tokio::test]
async fn postgres_restarting_under_load_answers_503_and_recovers_without_a_restart() {
    let pg = OwnPostgres::create();
    let url = pg.url();
    let app = TestChat::spawn_with(Backend::Sqlite, |c| c.chat.database_url = url).await;
    let token = app.user("chaos").await;
    let id = app.conversation(&token, "Chaos").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let mut accepted = Vec::new();
    let post = async |n: usize, accepted: &mut Vec<String>| {
        let content = format!("message {n}");
        let (status, body) = app.post(&path, &token, json!({"content": content, "generate": false})).await;
        if status == StatusCode::CREATED {
            accepted.push(content);
        }
        (status, body)
    };
    for n in 0..5 {
        assert_eq!(post(n, &mut accepted).await.0, StatusCode::CREATED);
    }

    pg.stop();
    // Each request waits for the pool's acquire timeout (10 s) before its 503: two of each.
    for n in 5..7 {
        let (status, body) = post(n, &mut accepted).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["detail"], "Service temporarily unavailable");
        let (status, body) = app.get(&path, &token).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    }

    pg.start();
    // The pool reconnects by itself: the first request may still meet a dead connection.
    let mut recovered = false;
    for n in 15..40 {
        let (status, body) = post(n, &mut accepted).await;
        assert!([StatusCode::CREATED, StatusCode::SERVICE_UNAVAILABLE].contains(&status), "{status} {body}");
        if status == StatusCode::CREATED {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "the chat service never recovered");
    let (status, messages) = app.get(&path, &token).await;
    assert_eq!(status, StatusCode::OK);
    let stored: Vec<String> =
        messages.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(stored, accepted, "every accepted message, and only those, is stored");
}

/// A small tmpfs of this test's own (mounting needs root, as CI runs).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Self {
        let dir = common::testing::temp_dir("openchat-chaos-disk");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=0700"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("mount runs");
        assert!(
            output.status.success(),
            "this test mounts a tmpfs and needs root: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self { dir }
    }

    /// Fills what is left with one file; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            match file.write(&block) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        // Whatever is left is smaller than a block: fill it byte by byte.
        while file.write(&[0]).is_ok_and(|n| n == 1) {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_full_disk_answers_503_loses_nothing_and_recovers_without_a_restart() {
    let disk = SmallDisk::mount(16);
    let url = format!("sqlite://{}/chat.db", disk.dir.display());
    let app = TestChat::spawn_with(Backend::Sqlite, |c| c.chat.database_url = url).await;
    let token = app.user("full").await;
    let id = app.conversation(&token, "Full disk").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let mut accepted = Vec::new();
    let mut refused = 0;
    let big = "x".repeat(30_000);
    for n in 0..3 {
        let content = format!("before {n}");
        let (status, body) = app.post(&path, &token, json!({"content": content, "generate": false})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        accepted.push(content);
    }

    let filler = disk.fill();
    for n in 0..200 {
        let content = format!("while full {n} {big}");
        let (status, body) = app.post(&path, &token, json!({"content": content, "generate": false})).await;
        match status {
            StatusCode::CREATED => accepted.push(content),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(
                    body["detail"],
                    "The server is out of storage space, so nothing was saved; try again later",
                    "{body}"
                );
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(refused, 3, "a full disk never refused a write");
    // Reads go on while the disk is full, and so does a request for a reply: refused, clearly.
    let (status, body) = app.get(&path, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.post(&path, &token, json!({"content": format!("a question {big}")})).await;
    assert!([StatusCode::CREATED, StatusCode::SERVICE_UNAVAILABLE].contains(&status), "{status} {body}");
    if status == StatusCode::CREATED {
        accepted.push(format!("a question {big}"));
    }

    std::fs::remove_file(filler).unwrap();
    let content = "after".to_owned();
    let (status, body) = app.post(&path, &token, json!({"content": content, "generate": false})).await;
    assert_eq!(status, StatusCode::CREATED, "the same process writes again once there is room: {body}");
    accepted.push(content);
    let (status, messages) = app.get(&path, &token).await;
    assert_eq!(status, StatusCode::OK);
    let stored: Vec<String> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), accepted.len(), "every accepted message, and only those, is stored");
    assert!(stored == accepted, "every accepted message, and only those, is stored, in order");
    // A reply that was started while the disk was full ends (done, or failed with a reason):
    // none is left streaming.
    let mut settled = false;
    for _ in 0..100 {
        let (_, messages) = app.get(&path, &token).await;
        let streaming = messages.as_array().unwrap().iter().any(|m| m["status"] == "streaming");
        if !streaming {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert!(settled, "a reply was left streaming");
}
