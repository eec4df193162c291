//! Cluster benchmarks: chat replicas (`openchat serve`, then `openchat chat` sharing its auth
//! server) on one pair of PostgreSQL databases and a Redis of the bench's own on a spare port,
//! so Redis's memory is the cluster's alone and the machine's Redis is untouched.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::server::{Server, free_port};
use crate::{concurrent_generations, idle_sockets, percentile, stamped_latencies, ws};

pub struct Cluster {
    pub replicas: Vec<Server>,
    admin: String,
    env: Vec<(String, String)>,
    redis: Child,
    redis_port: u16,
}

impl Cluster {
    pub async fn start(binary: &str, fake: &fake_llm::FakeLlm, replicas: usize) -> Self {
        let admin = std::env::var("OPENCHAT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let redis_port = free_port();
        let redis = Command::new("redis-server")
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts (apt-get install redis-server)");
        let mut env = crate::server::uncapped_sockets();
        env.extend([
            ("OPENCHAT_REDIS_URL".to_owned(), format!("redis://127.0.0.1:{redis_port}")),
            ("OPENCHAT_REVOCATIONS_SECRET".to_owned(), format!("bench-secret-{}", std::process::id())),
        ]);
        for service in ["auth", "chat"] {
            let name = format!("oc_test_bench_{service}_{}_{redis_port}", std::process::id());
            let created = Command::new("psql")
                .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
                .status();
            assert!(created.is_ok_and(|s| s.success()), "psql can create a database");
            let base = admin.rsplit_once('/').unwrap().0;
            env.push((format!("OPENCHAT_{}_DATABASE_URL", service.to_uppercase()), format!("{base}/{name}")));
        }
        let mut cluster = Self { replicas: Vec::new(), admin, env, redis, redis_port };
        for _ in 0..replicas {
            cluster.add_replica(binary, fake).await;
        }
        cluster
    }

    /// Starts one more replica: the first runs the auth server too.
    pub async fn add_replica(&mut self, binary: &str, fake: &fake_llm::FakeLlm) {
        let replica = match self.replicas.first() {
            None => Server::start_with(binary, fake, "serve", &self.env, None).await,
            Some(first) => Server::start_with(binary, fake, "chat", &self.env, Some(first)).await,
        };
        self.replicas.push(replica);
    }

    /// Redis's `used_memory`, in bytes.
    pub fn redis_memory(&self) -> u64 {
        let output = Command::new("redis-cli")
            .args(["-p", &self.redis_port.to_string(), "info", "memory"])
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.replicas.clear();
        let _ = self.redis.kill();
        let _ = self.redis.wait();
        for (_, url) in self.env.iter().filter(|(k, _)| k.ends_with("DATABASE_URL")) {
            let db = url.rsplit('/').next().unwrap();
            let drop = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
            let _ = Command::new("psql").args([self.admin.as_str(), "-qc", &drop]).status();
        }
    }
}

/// The relay measured on a socket of the replica producing the reply and on a socket of the
/// other one, at once.
pub async fn relay(binary: &str, fake: &fake_llm::FakeLlm) {
    let cluster = Cluster::start(binary, fake, 2).await;
    let (a, b) = (&cluster.replicas[0], &cluster.replicas[1]);
    let token = a.user("bench").await;
    let id = a.conversation(&token).await;
    let mut on_a = ws::connect(&a.ws_url(&format!("/ws/chat/bench?token={token}"))).await;
    let mut on_b = ws::connect(&b.ws_url(&format!("/ws/chat/bench?token={token}"))).await;
    ws::send(&mut on_b, "subscribe", json!({"conversation_id": id})).await;
    let replies = 4;
    let watcher = tokio::spawn(async move { stamped_latencies(&mut on_b, replies).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut same = Vec::new();
    for _ in 0..replies {
        let content = "[[words=500]][[stamp]][[delay=2]]";
        ws::send(&mut on_a, "send_message", json!({"conversation_id": id, "content": content})).await;
        same.extend(stamped_latencies(&mut on_a, 1).await);
    }
    let mut other = watcher.await.unwrap();
    same.sort_by(f64::total_cmp);
    other.sort_by(f64::total_cmp);
    for (name, latencies) in [("same replica", &same), ("other replica", &other)] {
        println!(
            "delta relay latency, {name} ({} deltas, one every ~2 ms): p50 {:.3} ms, p99 {:.3} ms",
            latencies.len(),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)
        );
    }
}

/// 1 000 concurrent generations over one replica, then over three, every reply also watched
/// from the next replica; paced (50 deltas at 50/s) and flat out (200 deltas, no delay).
pub async fn concurrent(binary: &str, fake: &fake_llm::FakeLlm) {
    // BENCH_REPLICAS=3 BENCH_WORKLOADS=200:0 runs one part.
    let list = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let replica_counts: Vec<usize> =
        list("BENCH_REPLICAS", "1,3").split(',').map(|n| n.parse().unwrap()).collect();
    let workloads: Vec<(usize, u64)> = list("BENCH_WORKLOADS", "50:20,200:0")
        .split(',')
        .map(|w| w.split_once(':').map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap())).unwrap())
        .collect();
    for replicas in replica_counts {
        let cluster = Cluster::start(binary, fake, replicas).await;
        let servers: Vec<&Server> = cluster.replicas.iter().collect();
        let redis_before = cluster.redis_memory();
        for &(words, delay) in &workloads {
            concurrent_generations(&servers, words, delay, &format!("r{replicas}w{words}")).await;
            println!(
                "{replicas} replica(s), Redis used_memory {:.1} → {:.1} MiB after the run",
                redis_before as f64 / 1048576.0,
                cluster.redis_memory() as f64 / 1048576.0
            );
        }
    }
}

/// 10 000 idle sockets spread over three replicas (200 users × 50): RSS per socket on each
/// replica and what Redis holds for them.
pub async fn idle(binary: &str, fake: &fake_llm::FakeLlm) {
    let cluster = Cluster::start(binary, fake, 3).await;
    let redis_before = cluster.redis_memory();
    let mut tokens = Vec::new();
    for i in 0..200 {
        tokens.push(cluster.replicas[0].user(&format!("idle{i}")).await);
    }
    // Behind a proxy without sticky sessions every replica holds sockets of every user.
    let mut held = Vec::new();
    for replica in &cluster.replicas {
        let urls: Vec<String> = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| replica.ws_url(&format!("/ws/chat/idle{i}?token={token}")))
            .collect();
        held.push(idle_sockets(replica, &urls, 3_400).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "Redis used_memory with {} sockets of 200 users on 3 replicas: {:.2} → {:.2} MiB",
        held.iter().map(Vec::len).sum::<usize>(),
        redis_before as f64 / 1048576.0,
        cluster.redis_memory() as f64 / 1048576.0
    );
}

/// Time from `kill -9` of the replica producing a reply to `generation_done` (`interrupted`) on
/// a socket of another replica; three rounds, a fresh replica each.
pub async fn failover(binary: &str, fake: &fake_llm::FakeLlm) {
    let mut cluster = Cluster::start(binary, fake, 1).await;
    let token = cluster.replicas[0].user("failover").await;
    let mut times = Vec::new();
    for round in 0..3 {
        cluster.add_replica(binary, fake).await;
        let watcher = &cluster.replicas[0];
        let id = watcher.conversation(&token).await;
        let mut watching = ws::connect(&watcher.ws_url(&format!("/ws/chat/failover?token={token}"))).await;
        ws::send(&mut watching, "subscribe", json!({"conversation_id": id})).await;
        let mut producing =
            ws::connect(&cluster.replicas[1].ws_url(&format!("/ws/chat/failover?token={token}"))).await;
        let content = "[[words=100000]][[delay=10]]";
        ws::send(&mut producing, "send_message", json!({"conversation_id": id, "content": content})).await;
        let mut deltas = 0;
        while deltas < 50 {
            if ws::next(&mut watching).await["type"] == "delta" {
                deltas += 1;
            }
        }
        let killed = Instant::now();
        let mut victim = cluster.replicas.remove(1);
        victim.kill();
        let status = loop {
            let frame = ws::next(&mut watching).await;
            if frame["type"] == "generation_done" {
                break frame["status"].clone();
            }
        };
        times.push(killed.elapsed().as_secs_f64());
        println!(
            "failover round {round}: {status} on the other replica {:.2} s after kill -9",
            killed.elapsed().as_secs_f64()
        );
    }
    times.sort_by(f64::total_cmp);
    println!("failover: min {:.1} s, median {:.1} s, max {:.1} s", times[0], times[1], times[2]);
}
