//! The real default model (SmolLM2-135M-Instruct, Q4_1). `scripts/test` downloads it once per
//! machine into `$HOME/.cache/openchat/models` and names it in `OPENCHAT_TEST_MODEL`; without
//! either these tests fail with instructions rather than pass without running.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm::{ChatMessage, ChatRequest, EventStream, FinishReason, Provider, Role, StreamEvent};
use local_llm::{DEFAULT_MODEL_FILE, DEFAULT_MODEL_ID, LocalProvider, LocalSettings};

fn model_path() -> PathBuf {
    let path = match std::env::var_os("OPENCHAT_TEST_MODEL") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/openchat/models")
            .join(DEFAULT_MODEL_FILE),
    };
    assert!(
        path.is_file(),
        "the default model is not at {}: run scripts/test (it downloads it), or \
         `openchat model pull --dir ~/.cache/openchat/models`, or set OPENCHAT_TEST_MODEL",
        path.display()
    );
    path
}

fn greedy(max_new_tokens: u32) -> LocalProvider {
    LocalProvider::start(LocalSettings {
        temperature: 0.0,
        max_new_tokens,
        ..LocalSettings::new(DEFAULT_MODEL_ID, model_path())
    })
}

fn ask(question: &str) -> ChatRequest {
    ChatRequest {
        model: DEFAULT_MODEL_ID.into(),
        messages: vec![ChatMessage { role: Role::User, content: question.into() }],
        ..ChatRequest::default()
    }
}

struct Reply {
    text: String,
    deltas: usize,
    queued: Vec<u32>,
    completion_tokens: u32,
    cut: Option<FinishReason>,
}

async fn collect(mut stream: EventStream) -> Reply {
    let mut reply =
        Reply { text: String::new(), deltas: 0, queued: Vec::new(), completion_tokens: 0, cut: None };
    while let Some(event) = stream.next().await {
        match event.expect("no error") {
            StreamEvent::Delta(delta) => {
                reply.text.push_str(&delta);
                reply.deltas += 1;
            }
            StreamEvent::Usage(usage) => reply.completion_tokens = usage.completion_tokens,
            StreamEvent::Queued(position) => reply.queued.push(position),
            StreamEvent::Finish(reason) => reply.cut = Some(reason),
            StreamEvent::ToolCalls(calls) => panic!("the local model was offered no tools: {calls:?}"),
        }
    }
    reply
}

#[tokio::test]
async fn greedy_decoding_answers_a_fixed_question_with_a_fixed_sensible_answer() {
    let provider = greedy(64);
    assert_eq!(provider.load_error(), None);
    let first = collect(provider.stream(ask("What is the capital of France?")).await.unwrap()).await;
    assert!(first.text.contains("Paris"), "{}", first.text);
    assert!(first.deltas > 1, "streamed token by token: {} deltas", first.deltas);
    let second = collect(provider.stream(ask("What is the capital of France?")).await.unwrap()).await;
    assert_eq!(first.text, second.text, "greedy decoding is deterministic");
}

#[tokio::test]
async fn a_reply_that_reaches_the_token_limit_says_so() {
    let provider = greedy(4);
    let reply = collect(provider.stream(ask("Write a long story about a dragon.")).await.unwrap()).await;
    assert_eq!(reply.completion_tokens, 4);
    assert_eq!(reply.cut, Some(FinishReason::Length));
}

#[tokio::test]
async fn stopping_mid_answer_frees_the_model_within_a_token() {
    let provider = greedy(1000);
    let story_started = Instant::now();
    let mut stream =
        provider.stream(ask("Write a long story about a dragon who learns to cook.")).await.unwrap();
    let mut deltas = 0;
    while deltas < 5 {
        if let Some(Ok(StreamEvent::Delta(_))) = stream.next().await {
            deltas += 1;
        }
    }
    // Reading the story's prompt and its first five tokens: the yardstick, taken on this machine
    // under its current load (a fixed number of milliseconds fails on a busy machine).
    let five_tokens = story_started.elapsed();
    drop(stream);
    // The story would take many times longer; the next request starts as soon as the token
    // being generated when the stream was dropped is done.
    let started = Instant::now();
    let mut next = provider.stream(ask("Say yes.")).await.unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), next.next()).await.expect("an event");
        match event.expect("an event").expect("no error") {
            StreamEvent::Queued(position) => assert_eq!(position, 1, "only the stopped story was ahead"),
            StreamEvent::Delta(_) => break,
            StreamEvent::Usage(_) | StreamEvent::Finish(_) | StreamEvent::ToolCalls(_) => {
                panic!("a reply without text")
            }
        }
    }
    // Its own prompt and first token, after at most one more token of the story.
    let waited = started.elapsed();
    assert!(
        waited < five_tokens * 2,
        "waited {waited:?}; the story's prompt and 5 tokens took {five_tokens:?}"
    );
}

#[tokio::test]
async fn two_concurrent_conversations_both_complete() {
    let provider = greedy(48);
    let (a, b) = tokio::join!(
        async { collect(provider.stream(ask("What is the capital of France?")).await.unwrap()).await },
        async { collect(provider.stream(ask("Name three colours.")).await.unwrap()).await },
    );
    assert!(a.text.contains("Paris"), "{}", a.text);
    assert!(!b.text.trim().is_empty() && b.completion_tokens > 0);
    // One was answered first, and the other was told it waited behind it.
    assert_eq!([a.queued.clone(), b.queued.clone()].concat(), [1], "{:?} {:?}", a.queued, b.queued);
}
