//! Message search at scale: one user with 100 000 stored messages (the worst case: every
//! message is that user's), then the latency of `GET /api/v1/search` for rare, common, multiple,
//! absent and short (index-less) words.

use std::time::Instant;

use serde_json::{Value, json};

use crate::percentile;
use crate::server::Server;

const CONVERSATIONS: usize = 500;
const PER_CONVERSATION: usize = 200;
const WRITERS: usize = 32;

/// A small deterministic generator (xorshift), so every run stores the same text.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A word of 2 to 9 letters from a vocabulary of 5 000.
    fn word(&mut self) -> String {
        let mut seed = self.next() % 5_000 + 1;
        let len = 2 + (seed % 8) as usize;
        (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (b'a' + ((seed >> 33) % 26) as u8) as char
            })
            .collect()
    }

    /// 10 to 80 words: about the size of a chat message.
    fn message(&mut self) -> String {
        let n = 10 + (self.next() % 71) as usize;
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

pub async fn search_latency(server: &Server, token: &str) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut conversations = Vec::new();
    for _ in 0..CONVERSATIONS {
        conversations.push(server.conversation(token).await);
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, token) = (client.clone(), token.to_owned());
        let urls: Vec<String> = conversations
            .iter()
            .skip(w)
            .step_by(WRITERS)
            .map(|id| server.url(&format!("/api/v1/conversations/{id}/messages")))
            .collect();
        writers.push(tokio::spawn(async move {
            let mut words = Words(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            for _ in 0..PER_CONVERSATION {
                for url in &urls {
                    let body = json!({"content": words.message(), "generate": false});
                    let response = client.post(url).bearer_auth(&token).json(&body).send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let total = CONVERSATIONS * PER_CONVERSATION;
    println!(
        "search: stored {total} messages in {CONVERSATIONS} conversations of one user in {:.1} s ({:.0} messages/s)",
        start.elapsed().as_secs_f64(),
        total as f64 / start.elapsed().as_secs_f64()
    );

    // A rare word in three messages; the generator's words each occur in about 1% of them.
    for id in conversations.iter().take(3) {
        let body = json!({"content": "a quixotic zephyr passed by", "generate": false});
        client
            .post(server.url(&format!("/api/v1/conversations/{id}/messages")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    let mut vocabulary = Words(42);
    let long: Vec<String> = (0..400).map(|_| vocabulary.word()).filter(|w| w.len() >= 7).collect();
    let short = (0..400).map(|_| vocabulary.word()).find(|w| w.len() == 3).unwrap();
    let cases = [
        ("a rare word", "zephyr".to_owned()),
        ("a common word", long[0].clone()),
        ("two common words", format!("{} {}", long[1], long[2])),
        ("part of a word (4 letters)", long[3][1..5].to_owned()),
        ("a common 3-letter word", short),
        ("a word found nowhere", "zzqxjv".to_owned()),
        ("a 2-letter string (no index: a scan)", "qz".to_owned()),
    ];
    // On PostgreSQL the planner needs the table's statistics to pick the trigram index; a bulk
    // load is followed by autovacuum's ANALYZE within a minute or so. Do it now (and so also
    // where autovacuum is off, as on some test servers).
    if let Ok(url) = std::env::var("OPENCHAT_CHAT_DATABASE_URL")
        && url.starts_with("postgres")
    {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        for table in ["VACUUM ANALYZE messages", "VACUUM ANALYZE conversations"] {
            sqlx::raw_sql(table).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    // Storing took a while: a fresh token (they last 15 minutes).
    let token = &server.user("bench").await;
    for (what, q) in cases {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..20 {
            let started = Instant::now();
            let response = client
                .get(server.url("/api/v1/search"))
                .query(&[("q", q.as_str())])
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "search {q:?}: {}", response.status());
            let body: Value = response.json().await.unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            found = body["results"].as_array().map_or(0, Vec::len);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "search {what} ({q:?}): {found} conversations found, p50 {:.1} ms, p95 {:.1} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.95)
        );
    }
}
