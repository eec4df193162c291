//! The worker thread that owns the model, the queue that feeds it, and one reply's generation.

use std::collections::VecDeque;
use std::io::Read;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use futures_util::StreamExt;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llm::{ChatMessage, ChatRequest, EventStream, FinishReason, LlmError, Role, StreamEvent, Usage};
use tokio::sync::mpsc;

use crate::LocalSettings;
use crate::template::{ChatTemplate, trim_to_fit};

/// Prompt tokens decoded in one step.
const PROMPT_BATCH: usize = 512;

type Reply = mpsc::UnboundedSender<Result<StreamEvent, LlmError>>;

struct Job {
    request: ChatRequest,
    reply: Reply,
    /// The place in the queue last told, so it is told only when it changes.
    told: u32,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Whether the worker is generating a reply.
    busy: bool,
    /// The reply being generated, to tell it if the worker dies.
    current: Option<Reply>,
    shutdown: bool,
    load_error: Option<String>,
    /// Set when the worker thread has ended on an internal error: requests fail at once.
    dead: Option<String>,
}

/// The shared side of the worker: the queue and what the worker reports.
pub(crate) struct Engine {
    settings: LocalSettings,
    state: Mutex<State>,
    wake: Condvar,
    /// Held by a test to keep the worker from starting a reply.
    #[cfg(test)]
    pub(crate) gate: Mutex<()>,
    /// Prompt tokens read (decoded) so far, reused ones not counted: what a test checks reuse by.
    #[cfg(test)]
    pub(crate) prompt_tokens_read: std::sync::atomic::AtomicUsize,
}

/// What the provider holds: dropping it stops the worker after its current token and waits for
/// that. The worker must be gone before the process exits: llama.cpp's global state is torn
/// down at exit, and a thread still generating would crash on it.
pub(crate) struct Handle {
    engine: Arc<Engine>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for Handle {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.engine.lock().shutdown = true;
        self.engine.wake.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Engine {
    pub(crate) fn start(settings: LocalSettings) -> Handle {
        let engine = Arc::new(Self {
            settings,
            state: Mutex::default(),
            wake: Condvar::new(),
            #[cfg(test)]
            gate: Mutex::default(),
            #[cfg(test)]
            prompt_tokens_read: std::sync::atomic::AtomicUsize::new(0),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let worker = engine.clone();
        let spawned = std::thread::Builder::new().name("local-model".into()).spawn(move || {
            let mut ready = Some(ready_tx);
            run_worker(&worker, &mut ready);
        });
        let worker = match spawned {
            // The worker reports once, after its first attempt to load the model.
            Ok(worker) => {
                let _ = ready_rx.recv();
                Some(worker)
            }
            Err(e) => {
                engine.lock().load_error = Some(format!("cannot start the local model's thread: {e}"));
                None
            }
        };
        Handle { engine, worker }
    }

    pub(crate) fn settings(&self) -> &LocalSettings {
        &self.settings
    }

    /// Requests waiting for the model (the one it is answering not counted).
    pub(crate) fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    pub(crate) fn load_error(&self) -> Option<String> {
        self.lock().load_error.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a request. The stream says the request's place in the queue while it waits.
    pub(crate) fn submit(&self, request: ChatRequest) -> Result<EventStream, LlmError> {
        let (reply, rx) = mpsc::unbounded_channel();
        {
            let mut state = self.lock();
            if let Some(error) = &state.dead {
                return Err(LlmError::Local(error.clone()));
            }
            state.queue.retain(|job| !job.reply.is_closed());
            if state.queue.len() >= self.settings.max_queue {
                return Err(LlmError::Local(format!(
                    "the local model is busy: {} replies are waiting; try again shortly",
                    state.queue.len()
                )));
            }
            let ahead = position(state.queue.len() + usize::from(state.busy));
            if ahead > 0 {
                let _ = reply.send(Ok(StreamEvent::Queued(ahead)));
            }
            state.queue.push_back(Job { request, reply, told: ahead });
        }
        self.wake.notify_all();
        let stream =
            futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        Ok(stream.boxed())
    }

    /// The next request to answer, or `None` at shutdown. Tells those still waiting their place.
    fn next_job(&self) -> Option<Job> {
        let mut state = self.lock();
        state.busy = false;
        state.current = None;
        loop {
            if state.shutdown {
                return None;
            }
            state.queue.retain(|job| !job.reply.is_closed());
            if let Some(job) = state.queue.pop_front() {
                state.busy = true;
                state.current = Some(job.reply.clone());
                for (index, waiting) in state.queue.iter_mut().enumerate() {
                    let ahead = position(index + 1);
                    if waiting.told != ahead {
                        waiting.told = ahead;
                        let _ = waiting.reply.send(Ok(StreamEvent::Queued(ahead)));
                    }
                }
                return Some(job);
            }
            state = self.wake.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Waits until a request arrives (true) or shutdown (false), leaving it queued.
    fn wait_for_work(&self) -> bool {
        let mut state = self.lock();
        loop {
            if state.shutdown {
                return false;
            }
            state.queue.retain(|job| !job.reply.is_closed());
            if !state.queue.is_empty() {
                return true;
            }
            state = self.wake.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Records a failure to load, and fails every waiting request with it.
    fn loaded(&self, error: Option<&str>) {
        let mut state = self.lock();
        state.load_error = error.map(str::to_owned);
        if let Some(error) = error {
            for job in state.queue.drain(..) {
                let _ = job.reply.send(Err(LlmError::Local(error.to_owned())));
            }
        }
    }

    fn shutting_down(&self) -> bool {
        self.lock().shutdown
    }
}

fn position(ahead: usize) -> u32 {
    u32::try_from(ahead).unwrap_or(u32::MAX)
}

/// The worker: loads the model and answers requests until the provider is dropped. When the model
/// cannot be loaded, each later request tries again (and fails with the reason if it still cannot).
fn run_worker(engine: &Engine, ready: &mut Option<std::sync::mpsc::Sender<()>>) {
    loop {
        // llama.cpp's bindings may panic on states they consider impossible; the service must
        // not hang on a dead worker, so such a panic fails every request from then on.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_and_serve(engine, ready)));
        let served = served.unwrap_or_else(|_| {
            let error = "the local model stopped after an internal error; restart openchat to use it again";
            tracing::error!("{error}");
            engine.loaded(Some(error));
            let mut state = engine.lock();
            state.dead = Some(error.to_owned());
            if let Some(reply) = state.current.take() {
                let _ = reply.send(Err(LlmError::Local(error.to_owned())));
            }
            Ok(())
        });
        match served {
            Ok(()) => return,
            Err(error) => {
                tracing::error!("{error}");
                engine.loaded(Some(&error));
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                if !engine.wait_for_work() {
                    return;
                }
            }
        }
    }
}

/// Everything llama.cpp needs from a loaded model besides the context.
struct Loaded {
    model: LlamaModel,
    template: ChatTemplate,
    add_bos: bool,
    bos_text: String,
}

fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| format!("cannot start llama.cpp: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn fix(path: &Path) -> String {
    format!(
        "run `openchat model pull` to download the default model, or set OPENCHAT_LOCAL_MODEL to the path of \
         a GGUF model file (or to `off`) instead of {}",
        path.display()
    )
}

/// Loads the GGUF file, with errors that name the file and the fix.
fn load(settings: &LocalSettings) -> Result<Loaded, String> {
    let path = &settings.path;
    let mut magic = [0u8; 4];
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("the local model file {} does not exist: {}", path.display(), fix(path)));
        }
        Err(e) => return Err(format!("cannot read the local model file {}: {e}", path.display())),
        Ok(mut file) => {
            if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
                return Err(format!(
                    "the local model file {} is not a GGUF file (corrupt or incomplete): {}",
                    path.display(),
                    fix(path)
                ));
            }
        }
    }
    let backend = backend()?;
    let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()).map_err(|_| {
        format!(
            "the local model file {} could not be loaded (corrupt, incomplete, or a model llama.cpp does not \
             support): {}",
            path.display(),
            fix(path)
        )
    })?;
    let (bos_text, eos_text, add_bos) = {
        let vocab = model.vocab();
        let piece = |token: LlamaToken| -> String {
            if token.0 < 0 || token.0 >= vocab.n_tokens() {
                return String::new();
            }
            String::from_utf8_lossy(&vocab.token_to_piece(token, true, None)).into_owned()
        };
        (piece(vocab.bos()), piece(vocab.eos()), vocab.should_add_bos())
    };
    let source = model.meta_val_str("tokenizer.chat_template").ok();
    let template = ChatTemplate::new(source.as_deref(), &bos_text, &eos_text)
        .map_err(|e| format!("the local model file {}: {e}", path.display()))?;
    Ok(Loaded { model, template, add_bos, bos_text })
}

fn load_and_serve(engine: &Engine, ready: &mut Option<std::sync::mpsc::Sender<()>>) -> Result<(), String> {
    let settings = engine.settings();
    let loaded = load(settings)?;
    let threads = i32::try_from(settings.threads.max(1)).unwrap_or(1);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(settings.context_length.max(16)))
        .with_n_batch(PROMPT_BATCH as u32)
        .with_n_ubatch(PROMPT_BATCH as u32)
        .with_n_seq_max(1)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut context = loaded.model.new_context(backend()?, params).map_err(|e| {
        format!(
            "cannot make a context of {} tokens for the local model {}: {e}",
            settings.context_length,
            settings.path.display()
        )
    })?;
    engine.loaded(None);
    tracing::info!(
        model = %settings.model_id,
        path = %settings.path.display(),
        context = settings.context_length,
        threads,
        "local model loaded"
    );
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    let mut batch = LlamaBatch::new(PROMPT_BATCH, 1);
    let mut cache = KvCache::default();
    while let Some(job) = engine.next_job() {
        let reply = job.reply.clone();
        #[cfg(test)]
        let _gate = engine.gate.lock();
        match generate(engine, &loaded, &mut context, &mut batch, &mut cache, job) {
            Ok(()) => {}
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }
    Ok(())
}

/// The tokens whose keys and values are in the context, in order from position 0: the last
/// reply's prompt and the tokens it generated. The next prompt of the same conversation starts
/// with them, so only what follows is read again.
#[derive(Default)]
struct KvCache {
    tokens: Vec<LlamaToken>,
}

impl KvCache {
    /// Keeps the longest prefix shared with `prompt` (never all of it: the last prompt token is
    /// read again for its logits) and drops the rest from the context. Returns how many tokens
    /// are kept; 0 when the context cannot drop part of a sequence (recurrent models).
    fn keep_prefix_of(&mut self, context: &mut LlamaContext<'_>, prompt: &[LlamaToken]) -> usize {
        let shared = self.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count();
        let keep = shared.min(prompt.len().saturating_sub(1));
        let dropped = |p0| matches!(context.clear_kv_cache_seq(Some(0), Some(p0), None), Ok(true));
        if keep > 0 && u32::try_from(keep).is_ok_and(dropped) {
            self.tokens.truncate(keep);
            keep
        } else {
            self.clear(context);
            0
        }
    }

    fn clear(&mut self, context: &mut LlamaContext<'_>) {
        context.clear_kv_cache();
        self.tokens.clear();
    }
}

/// Tokens of `prompt`, with the model's BOS token unless the template already wrote it.
fn tokenize(loaded: &Loaded, prompt: &str) -> Vec<LlamaToken> {
    let add_bos = loaded.add_bos && !(loaded.bos_text.is_empty() || prompt.starts_with(&loaded.bos_text));
    loaded.model.vocab().tokenize(prompt.as_bytes(), add_bos, true)
}

fn failed(what: &str, error: impl std::fmt::Display) -> LlmError {
    LlmError::Local(format!("the local model failed while {what}: {error}"))
}

/// Answers one request: trims the conversation to the context window, reads the prompt, then
/// samples and streams token after token until the end of the turn, the length limit, or the
/// stream being dropped (checked before every token).
fn generate(
    engine: &Engine,
    loaded: &Loaded,
    context: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch<'_>,
    cache: &mut KvCache,
    job: Job,
) -> Result<(), LlmError> {
    let settings = engine.settings();
    let Job { request, reply, .. } = job;
    let stopped = || reply.is_closed() || engine.shutting_down();
    let n_ctx = (context.n_ctx() as usize).min(settings.context_length as usize);
    let chunk_size = (context.n_batch() as usize).clamp(1, PROMPT_BATCH);
    let max_new = request.max_tokens.unwrap_or(settings.max_new_tokens).max(1) as usize;
    let budget = n_ctx - max_new.min(n_ctx / 2);
    let mut messages: Vec<ChatMessage> = request
        .messages
        .iter()
        .map(|m| ChatMessage { role: m.role, content: m.content.replace('\0', "") })
        .collect();
    if let Some(prompt) = &settings.default_system_prompt
        && messages.first().is_none_or(|m| m.role != Role::System)
    {
        messages.insert(0, ChatMessage { role: Role::System, content: prompt.clone() });
    }
    let messages = trim_to_fit(&messages, budget, |candidate| {
        Ok(tokenize(loaded, &loaded.template.render(candidate)?).len())
    })
    .map_err(LlmError::Local)?;
    let prompt = loaded.template.render(&messages).map_err(LlmError::Local)?;
    let tokens = tokenize(loaded, &prompt);
    if tokens.is_empty() {
        return Err(LlmError::Local("the prompt for the local model is empty".into()));
    }

    let reused = cache.keep_prefix_of(context, &tokens);
    tracing::debug!(prompt_tokens = tokens.len(), reused, "local model: reading the prompt");
    let mut position = reused as i32;
    for chunk in tokens[reused..].chunks(chunk_size) {
        if stopped() {
            return Ok(());
        }
        batch.clear();
        for &token in chunk {
            let last = position as usize == tokens.len() - 1;
            batch.add(token, position, &[0], last).map_err(|e| failed("reading the prompt", e))?;
            position += 1;
        }
        if let Err(e) = context.decode(batch) {
            cache.clear(context);
            return Err(failed("reading the prompt", e));
        }
        cache.tokens.extend_from_slice(chunk);
        #[cfg(test)]
        engine.prompt_tokens_read.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
    }

    let temperature = request.temperature.unwrap_or(settings.temperature);
    let mut sampler = if temperature <= 0.0 {
        LlamaSampler::greedy()
    } else {
        let seed = settings.seed.unwrap_or_else(rand::random);
        LlamaSampler::chain_simple([
            LlamaSampler::top_p(settings.top_p, 1),
            LlamaSampler::temp(temperature),
            LlamaSampler::dist(seed),
        ])
    };
    let vocab = loaded.model.vocab();
    let mut text = Utf8Stream::default();
    let mut generated = 0usize;
    let mut ended = false;
    while generated < max_new && (position as usize) < n_ctx {
        if stopped() {
            return Ok(());
        }
        let token = sampler.sample(context, batch.n_tokens() - 1);
        if vocab.is_eog(token) {
            ended = true;
            break;
        }
        generated += 1;
        let delta = text.push(&vocab.token_to_piece(token, false, None));
        if !delta.is_empty() && reply.send(Ok(StreamEvent::Delta(delta))).is_err() {
            return Ok(());
        }
        if generated == max_new || position as usize + 1 >= n_ctx || stopped() {
            break;
        }
        batch.clear();
        batch.add(token, position, &[0], true).map_err(|e| failed("generating", e))?;
        if let Err(e) = context.decode(batch) {
            cache.clear(context);
            return Err(failed("generating", e));
        }
        cache.tokens.push(token);
        position += 1;
    }
    let rest = text.finish();
    if !rest.is_empty() {
        let _ = reply.send(Ok(StreamEvent::Delta(rest)));
    }
    if !ended && !stopped() {
        // The length limit or the context window, not the end of the turn.
        let _ = reply.send(Ok(StreamEvent::Finish(FinishReason::Length)));
    }
    let usage = Usage {
        prompt_tokens: u32::try_from(tokens.len()).unwrap_or(u32::MAX),
        completion_tokens: u32::try_from(generated).unwrap_or(u32::MAX),
    };
    let _ = reply.send(Ok(StreamEvent::Usage(usage)));
    Ok(())
}

/// Turns token bytes into text, holding back a character split across tokens.
#[derive(Default)]
struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_across_tokens_are_held_back() {
        let mut stream = Utf8Stream::default();
        let euro = "€".as_bytes();
        assert_eq!(stream.push(b"a"), "a");
        assert_eq!(stream.push(&euro[..1]), "");
        assert_eq!(stream.push(&euro[1..]), "€");
        assert_eq!(stream.push(&[0xff, b'b']), "\u{fffd}b");
        assert_eq!(stream.push(&euro[..2]), "");
        assert_eq!(stream.finish(), "\u{fffd}");
    }
}
