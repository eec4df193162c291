//! The local model's speed through the provider (what a reply costs in `openchat`): load time,
//! time to first token for a short question in a new conversation and for a follow-up turn,
//! prompt processing and generation rates, and peak RSS. `bench/local-model.sh` runs it beside
//! the reference llama.cpp (llama-cpp-python). Both engines reuse the part of a prompt that the
//! previous one shared; each measured prompt follows a different one, so only the template's
//! start is reused, as when a user opens a new conversation.
//!
//! Usage: local_bench MODEL.gguf THREADS

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm::{ChatMessage, ChatRequest, Provider, Role, StreamEvent};
use local_llm::{LocalProvider, LocalSettings};

const SHORT: &str = "What is the capital of France?";
const OTHER: &str = "Name three colours.";
const FOLLOW_UP: &str = "And of Italy?";
const STORY: &str = "Write a long story about a dragon who learns to cook.";
/// About 500 tokens of prompt.
fn long_prompt() -> String {
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old barn. ".repeat(27)
        + "Summarise this."
}

struct Run {
    text: String,
    first_token: Duration,
    total: Duration,
    prompt_tokens: u32,
    completion_tokens: u32,
}

async fn run(provider: &LocalProvider, question: &str, max_tokens: u32) -> Run {
    turn(provider, &[(Role::User, question)], max_tokens).await
}

async fn turn(provider: &LocalProvider, messages: &[(Role, &str)], max_tokens: u32) -> Run {
    let request = ChatRequest {
        model: "bench".into(),
        messages: messages
            .iter()
            .map(|(role, text)| ChatMessage { role: *role, content: (*text).into() })
            .collect(),
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        ..ChatRequest::default()
    };
    let started = Instant::now();
    let mut stream = provider.stream(request).await.expect("the model accepts the request");
    let mut first_token = None;
    let mut usage = None;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event.expect("no error") {
            StreamEvent::Delta(delta) => {
                first_token.get_or_insert_with(|| started.elapsed());
                text.push_str(&delta);
            }
            StreamEvent::Usage(u) => usage = Some(u),
            StreamEvent::Queued(_) | StreamEvent::Finish(_) | StreamEvent::ToolCalls(_) => {}
        }
    }
    let usage = usage.expect("usage");
    Run {
        text,
        first_token: first_token.unwrap_or_else(|| started.elapsed()),
        total: started.elapsed(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(threads)) = (args.next(), args.next()) else {
        eprintln!("usage: local_bench MODEL.gguf THREADS");
        std::process::exit(2);
    };
    let threads: u32 = threads.parse().unwrap_or(2);
    let started = Instant::now();
    let provider = LocalProvider::start(LocalSettings {
        threads,
        temperature: 0.0,
        ..LocalSettings::new("bench", &model)
    });
    if let Some(error) = provider.load_error() {
        eprintln!("{error}");
        std::process::exit(1);
    }
    let load = started.elapsed();
    // Warm-up: page the weights in.
    run(&provider, SHORT, 8).await;

    let mut ttft = Vec::new();
    let mut follow_up = Vec::new();
    for _ in 0..5 {
        run(&provider, OTHER, 1).await;
        let first = run(&provider, SHORT, 16).await;
        ttft.push(first.first_token.as_secs_f64() * 1000.0);
        let conversation =
            [(Role::User, SHORT), (Role::Assistant, first.text.as_str()), (Role::User, FOLLOW_UP)];
        follow_up.push(turn(&provider, &conversation, 1).await.first_token.as_secs_f64() * 1000.0);
    }
    let mut pp = Vec::new();
    let mut prompt_tokens = 0;
    for _ in 0..3 {
        run(&provider, OTHER, 1).await;
        let r = run(&provider, &long_prompt(), 1).await;
        prompt_tokens = r.prompt_tokens;
        pp.push(f64::from(r.prompt_tokens) / r.first_token.as_secs_f64());
    }
    let mut tg = Vec::new();
    let mut generated = 0;
    for _ in 0..3 {
        let r = run(&provider, STORY, 128).await;
        generated = r.completion_tokens;
        tg.push(f64::from(r.completion_tokens.saturating_sub(1)) / (r.total - r.first_token).as_secs_f64());
    }
    println!(
        "{{\"engine\": \"openchat (llama-cpp-2)\", \"threads\": {threads}, \"load_ms\": {:.0}, \
         \"ttft_short_ms\": {:.1}, \"ttft_follow_up_ms\": {:.1}, \"prompt_tokens\": {prompt_tokens}, \"prompt_tok_s\": {:.0}, \
         \"generated_tokens\": {generated}, \"gen_tok_s\": {:.1}, \"peak_rss_mib\": {:.1}}}",
        load.as_secs_f64() * 1000.0,
        median(ttft),
        median(follow_up),
        median(pp),
        median(tg),
        peak_rss_mib()
    );
}
