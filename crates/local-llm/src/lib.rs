//! The embedded local model: a GGUF file run on the CPU by llama.cpp (through the
//! `llama-cpp-2` bindings), behind the same [`llm::Provider`] trait as the HTTP providers.
//!
//! One model is loaded once, by one worker thread that owns it and its context. Requests wait
//! in a bounded queue and are answered one after the other; each waiting request is told its
//! place in the queue ([`llm::StreamEvent::Queued`]) whenever it changes. Dropping a reply's
//! stream stops its generation before the next token.

mod catalog;
mod engine;
mod template;
#[cfg(test)]
mod tiny_gguf;

use std::path::PathBuf;
use std::sync::Arc;

pub use catalog::{
    DEFAULT_MODEL_FILE, DEFAULT_MODEL_ID, DEFAULT_MODEL_SHA256, InstalledModel, ModelChoice, PullError,
    installed, models_dir, pull_default, resolve,
};

use futures_util::future::BoxFuture;
use llm::{ChatRequest, EventStream, LlmError, Provider};

/// The system prompt of conversations that have none.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant.";

/// How the local model runs.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// The id shown in `GET /api/v1/models`.
    pub model_id: String,
    /// The GGUF file.
    pub path: PathBuf,
    /// Tokens of context (prompt and reply together).
    pub context_length: u32,
    /// CPU threads used for generation and prompt processing.
    pub threads: u32,
    /// Used when a conversation has no system prompt of its own, instead of the default that a
    /// model's chat template may add (SmolLM2-135M answers plain questions with nonsense under
    /// its template's default, and correctly under this one: docs/local-model.md).
    pub default_system_prompt: Option<String>,
    /// 0 means greedy decoding.
    pub temperature: f32,
    pub top_p: f32,
    /// A fixed seed makes sampled replies reproducible; `None` draws one per reply.
    pub seed: Option<u32>,
    /// Longest reply, in tokens.
    pub max_new_tokens: u32,
    /// Most requests waiting for their turn; more are refused with a clear error.
    pub max_queue: usize,
}

impl LocalSettings {
    /// Settings for `path` with the defaults of the configuration file.
    pub fn new(model_id: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            model_id: model_id.into(),
            path: path.into(),
            context_length: 2048,
            // Half the cores, as llama-cpp-python does: ggml's threads wait for each other at
            // every step, and a busy machine (the rest of openchat, other processes) makes a
            // thread per core several times slower than half as many (docs/local-model.md).
            threads: std::thread::available_parallelism().map_or(1, |n| (n.get() as u32 / 2).max(1)),
            default_system_prompt: Some(DEFAULT_SYSTEM_PROMPT.into()),
            temperature: 0.2,
            top_p: 0.9,
            seed: None,
            max_new_tokens: 512,
            max_queue: 32,
        }
    }
}

/// The local model as a provider. Cheap to share: clones talk to the same worker.
#[derive(Clone)]
pub struct LocalProvider {
    inner: Arc<engine::Handle>,
}

impl LocalProvider {
    /// Starts the worker thread and loads the model, waiting for the load to finish. A model
    /// that cannot be loaded does not make this fail: [`Self::load_error`] says why, replies fail
    /// with that sentence, and each new request tries the file again (so `openchat model pull`
    /// after start-up is enough).
    pub fn start(settings: LocalSettings) -> Self {
        Self { inner: Arc::new(engine::Engine::start(settings)) }
    }

    /// Why the model could not be loaded at start-up, as a sentence naming the file and the fix.
    pub fn load_error(&self) -> Option<String> {
        self.inner.load_error()
    }

    pub fn model_id(&self) -> &str {
        &self.inner.settings().model_id
    }
}

impl Provider for LocalProvider {
    fn name(&self) -> &str {
        "local"
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        let id = self.inner.settings().model_id.clone();
        Box::pin(async move { Ok(vec![id]) })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        Box::pin(async move { self.inner.submit(request) })
    }

    fn queued(&self) -> Option<usize> {
        Some(self.inner.queued())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use llm::{ChatMessage, Role, StreamEvent, Usage};

    fn temp_path(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("oc-local-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn tiny(context_length: u32, max_new_tokens: u32) -> LocalSettings {
        let path = temp_path("Tiny.gguf");
        tiny_gguf::write(&path);
        LocalSettings {
            context_length,
            threads: 1,
            default_system_prompt: None,
            temperature: 0.0,
            max_new_tokens,
            ..LocalSettings::new("tiny", path)
        }
    }

    fn request(messages: &[(Role, &str)]) -> ChatRequest {
        ChatRequest {
            model: "tiny".into(),
            messages: messages
                .iter()
                .map(|(role, text)| ChatMessage { role: *role, content: text.to_string() })
                .collect(),
            ..ChatRequest::default()
        }
    }

    /// The reply's text and usage, or its error.
    async fn reply(provider: &LocalProvider, request: ChatRequest) -> Result<(String, Usage), LlmError> {
        let mut stream = provider.stream(request).await?;
        let (mut text, mut usage) = (String::new(), None);
        while let Some(event) = stream.next().await {
            match event? {
                StreamEvent::Delta(delta) => text.push_str(&delta),
                StreamEvent::Usage(u) => usage = Some(u),
                StreamEvent::Queued(_) | StreamEvent::Finish(_) | StreamEvent::ToolCalls(_) => {}
            }
        }
        Ok((text, usage.expect("a finished reply reports its usage")))
    }

    #[tokio::test]
    async fn a_tiny_model_loads_and_its_own_template_is_applied() {
        let provider = LocalProvider::start(tiny(128, 4));
        assert_eq!(provider.load_error(), None);
        assert_eq!(provider.models().await.unwrap(), ["tiny"]);
        let (_, usage) = reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap();
        // One token per byte, one per special token: the metadata's `[tiny]` template was used
        // and its special tokens were recognised.
        assert_eq!(usage.prompt_tokens, tiny_gguf::prompt_tokens(&[("user", "Hi")]));
        assert!((1..=4).contains(&usage.completion_tokens), "{usage:?}");
        let (_, usage) =
            reply(&provider, request(&[(Role::System, "Be brief."), (Role::User, "Hi")])).await.unwrap();
        assert_eq!(usage.prompt_tokens, tiny_gguf::prompt_tokens(&[("system", "Be brief."), ("user", "Hi")]));
    }

    #[tokio::test]
    async fn conversations_without_a_system_prompt_get_the_default_one() {
        let provider = LocalProvider::start(LocalSettings {
            default_system_prompt: Some("Be kind.".into()),
            ..tiny(128, 2)
        });
        let (_, usage) = reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap();
        assert_eq!(usage.prompt_tokens, tiny_gguf::prompt_tokens(&[("system", "Be kind."), ("user", "Hi")]));
        let (_, usage) =
            reply(&provider, request(&[(Role::System, "Own."), (Role::User, "Hi")])).await.unwrap();
        assert_eq!(usage.prompt_tokens, tiny_gguf::prompt_tokens(&[("system", "Own."), ("user", "Hi")]));
    }

    #[tokio::test]
    async fn greedy_decoding_is_repeatable() {
        let provider = LocalProvider::start(tiny(128, 12));
        let first = reply(&provider, request(&[(Role::User, "Say something")])).await.unwrap();
        let second = reply(&provider, request(&[(Role::User, "Say something")])).await.unwrap();
        assert_eq!(first, second);
    }

    #[tokio::test]
    async fn a_follow_up_reads_only_what_is_new_and_answers_as_a_fresh_model_would() {
        use std::sync::atomic::Ordering::Relaxed;
        let provider = LocalProvider::start(tiny(256, 8));
        let read = || provider.inner.prompt_tokens_read.load(Relaxed);
        let (first, turn1) = reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap();
        assert_eq!(read(), turn1.prompt_tokens as usize);

        // The second turn starts with the first one's prompt (and reply): only the rest is read.
        let follow_up = [(Role::User, "Hi"), (Role::Assistant, first.as_str()), (Role::User, "More")];
        let before = read();
        let second = reply(&provider, request(&follow_up)).await.unwrap();
        let read_now = read() - before;
        // The tiny template writes a message's role as `assistant[tiny]\n` but asks for a reply
        // with `assistant\n`: the two turns share the first message and `<|im_start|>assistant`.
        // (ChatML, as in the default model, shares the whole first turn and its reply.)
        let first_message = tiny_gguf::prompt_tokens(&[("user", "Hi")]) - tiny_gguf::prompt_tokens(&[]);
        let shared = first_message + 1 + "assistant".len() as u32;
        assert_eq!(
            read_now,
            (second.1.prompt_tokens - shared) as usize,
            "only what follows the shared prefix is read"
        );
        let fresh = LocalProvider::start(tiny(256, 8));
        assert_eq!(second, reply(&fresh, request(&follow_up)).await.unwrap());

        // Another conversation: what the two do not share is dropped from the context first,
        // so the answer is the one a fresh model gives.
        let other = [(Role::System, "Other."), (Role::User, "Bye")];
        let third = reply(&provider, request(&other)).await.unwrap();
        assert_eq!(third, reply(&fresh, request(&other)).await.unwrap());
        // And back to the first conversation: its first turn again, as at the start.
        assert_eq!(reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap().0, first);
    }

    #[tokio::test]
    async fn long_conversations_keep_the_newest_messages_that_fit() {
        // 128 tokens of context, 16 kept for the reply: 112 for the prompt, which holds the
        // system prompt and the last two messages (95 tokens) but not one more (139).
        let provider = LocalProvider::start(tiny(128, 16));
        let long = "x".repeat(30);
        let mut messages = vec![(Role::System, "S")];
        for _ in 0..5 {
            messages.push((Role::User, long.as_str()));
            messages.push((Role::Assistant, long.as_str()));
        }
        messages.push((Role::User, "last"));
        let (_, usage) = reply(&provider, request(&messages)).await.unwrap();
        let kept = tiny_gguf::prompt_tokens(&[("system", "S"), ("assistant", &long), ("user", "last")]);
        assert_eq!(usage.prompt_tokens, kept);
        assert_eq!(kept, 95);

        let err = reply(&provider, request(&[(Role::User, &"y".repeat(120))])).await.unwrap_err();
        assert!(err.to_string().contains("too long for the local model's context window"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_file_is_named_with_the_fix_and_loaded_once_it_appears() {
        let path = temp_path("Absent.gguf");
        let provider = LocalProvider::start(LocalSettings {
            threads: 1,
            default_system_prompt: None,
            ..LocalSettings::new("absent", &path)
        });
        let error = provider.load_error().expect("the file is missing");
        assert!(error.contains(&path.display().to_string()) && error.contains("does not exist"), "{error}");
        assert!(error.contains("openchat model pull") && error.contains("OPENCHAT_LOCAL_MODEL"), "{error}");
        assert_eq!(
            provider.models().await.unwrap(),
            ["absent"],
            "still offered, so the reason reaches the reply"
        );
        let err = reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap_err();
        assert_eq!(err.to_string(), error);

        tiny_gguf::write(&path);
        let (_, usage) = reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap();
        assert!(usage.prompt_tokens > 0);
        assert_eq!(provider.load_error(), None);
    }

    #[tokio::test]
    async fn corrupt_files_are_named_with_the_fix() {
        let not_gguf = temp_path("Broken.gguf");
        std::fs::write(&not_gguf, b"<html>not a model</html>").unwrap();
        let provider = LocalProvider::start(LocalSettings::new("broken", &not_gguf));
        let error = provider.load_error().unwrap();
        assert!(
            error.contains("is not a GGUF file") && error.contains(&not_gguf.display().to_string()),
            "{error}"
        );
        assert!(error.contains("openchat model pull"), "{error}");

        let truncated = temp_path("Truncated.gguf");
        let whole = temp_path("Whole.gguf");
        tiny_gguf::write(&whole);
        let bytes = std::fs::read(&whole).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let provider = LocalProvider::start(LocalSettings::new("truncated", &truncated));
        let error = provider.load_error().unwrap();
        assert!(
            error.contains("could not be loaded") && error.contains(&truncated.display().to_string()),
            "{error}"
        );
        let err = reply(&provider, request(&[(Role::User, "Hi")])).await.unwrap_err();
        assert!(err.to_string().contains("could not be loaded"), "{err}");
    }

    // The gate is held across awaits on purpose: it keeps the worker from starting a reply
    // while the requests are queued (single-threaded test runtime, nothing else locks it).
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn waiting_requests_are_told_their_place_and_a_full_queue_refuses() {
        let provider = LocalProvider::start(LocalSettings { max_queue: 3, ..tiny(128, 64) });
        let gate = provider.inner.gate.lock().unwrap();
        let mut streams = Vec::new();
        for _ in 0..3 {
            streams.push(provider.stream(request(&[(Role::User, "Hi")])).await.unwrap());
        }
        // Whether or not the worker has taken the first request yet, a fourth finds three ahead
        // (refused: three wait already) or is the third to wait.
        match provider.stream(request(&[(Role::User, "Hi")])).await {
            Err(e) => assert!(e.to_string().contains("the local model is busy"), "{e}"),
            Ok(mut stream) => {
                let first = stream.next().await.unwrap().unwrap();
                assert_eq!(first, StreamEvent::Queued(3));
            }
        }
        drop(gate);
        let mut seen = Vec::new();
        for mut stream in streams {
            let mut positions: Vec<u32> = Vec::new();
            let mut usage = None;
            while let Some(event) = stream.next().await {
                match event.unwrap() {
                    StreamEvent::Queued(p) if positions.last() != Some(&p) => positions.push(p),
                    StreamEvent::Usage(u) => usage = Some(u),
                    _ => {}
                }
            }
            assert!(usage.is_some(), "every queued request completes");
            seen.push(positions);
        }
        assert_eq!(seen, [vec![], vec![1], vec![2, 1]]);
    }
}
