//! The local model's speed through the provider (what a reply costs in `openchat`): load time,
//! time to first token for a short question, prompt processing and generation rates, and peak
//! RSS. `bench/local-model.sh` runs it beside the reference llama.cpp (llama-cpp-python).
//!
//! Usage: local_bench MODEL.gguf THREADS

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm::{ChatMessage, ChatRequest, Provider, Role, StreamEvent};
use local_llm::{LocalProvider, LocalSettings};

const SHORT: &str = "What is the capital of France?";
const STORY: &str = "Write a long story about a dragon who learns to cook.";
/// About 500 tokens of prompt.
fn long_prompt() -> String {
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old barn. ".repeat(27)
        + "Summarise this."
}

struct Run {
    first_token: Duration,
    total: Duration,
    prompt_tokens: u32,
    completion_tokens: u32,
}

async fn run(provider: &LocalProvider, question: &str, max_tokens: u32) -> Run {
    let request = ChatRequest {
        model: "bench".into(),
        messages: vec![ChatMessage { role: Role::User, content: question.into() }],
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
    };
    let started = Instant::now();
    let mut stream = provider.stream(request).await.expect("the model accepts the request");
    let mut first_token = None;
    let mut usage = None;
    while let Some(event) = stream.next().await {
        match event.expect("no error") {
            StreamEvent::Delta(_) => {
                first_token.get_or_insert_with(|| started.elapsed());
            }
            StreamEvent::Usage(u) => usage = Some(u),
            StreamEvent::Queued(_) => {}
        }
    }
    let usage = usage.expect("usage");
    Run {
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

    let ttft: Vec<f64> = futures_util::stream::iter(0..5)
        .then(|_| run(&provider, SHORT, 1))
        .map(|r| r.first_token.as_secs_f64() * 1000.0)
        .collect()
        .await;
    let mut pp = Vec::new();
    let mut prompt_tokens = 0;
    for _ in 0..3 {
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
         \"ttft_short_ms\": {:.1}, \"prompt_tokens\": {prompt_tokens}, \"prompt_tok_s\": {:.0}, \
         \"generated_tokens\": {generated}, \"gen_tok_s\": {:.1}, \"peak_rss_mib\": {:.1}}}",
        load.as_secs_f64() * 1000.0,
        median(ttft),
        median(pp),
        median(tg),
        peak_rss_mib()
    );
}
