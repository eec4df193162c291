//! A fake model provider: a real HTTP server that speaks OpenAI's Chat Completions streaming
//! protocol and Anthropic's Messages streaming protocol. What it does is scripted by
//! directives in the last user message, so concurrent tests do not interfere:
//!
//! - `[[reply=text]]` answer exactly `text` (otherwise `Echo: <message>`), one word per chunk
//! - `[[words=N]]` answer with N numbered words
//! - `[[delay=MS]]` wait MS milliseconds before each chunk
//! - `[[status=CODE]]` answer with that HTTP error status instead of a stream
//! - `[[fail_after=N]]` send N chunks, then an error event and end the stream
//! - `[[drop_after=N]]` send N chunks, then cut the connection without finishing
//! - `[[stall]]` accept the request and never send anything
//! - `[[stall_after=N]]` send N chunks, then go silent forever
//! - `[[stamp]]` each chunk's text is the instant it was sent, in unix microseconds (for
//!   measuring relay latency)
//! - `[[length]]` end the reply as cut by the token limit (`finish_reason: "length"`,
//!   Anthropic's `stop_reason: "max_tokens"`)
//! - `[[endless]]` after the words (`[[words=N]]`, default none), stream numbered words
//!   forever (`e1 e2 …`), ignoring `max_tokens`
//! - `[[comments_after=N]]` send N chunks, then only keep-alive comments (`: keep-alive`), one
//!   every 50 ms, forever
//! - `[[endless_line_after=N]]` send N chunks, then a `data:` line that never ends (64 KiB
//!   every 5 ms)
//! - `[[endless_body]]` with `[[status=CODE]]`: an error body that never ends (64 KiB every 5 ms)
//! - `[[continue=text]]` what to answer when asked to continue a reply (the request ends with
//!   the assistant's partial message); default " and the story went on."
//! - `[[call=NAME {"json": "arguments"}]]` call tool NAME (repeat for parallel calls), when the
//!   request offers tools; the calls stream in pieces (OpenAI `tool_calls` deltas split across
//!   chunks, Anthropic `tool_use` blocks with `input_json_delta`s). Once the results come back
//!   the answer is `Tool results: <each result> | …` (or `[[reply=…]]`).
//! - `[[rounds=N]]` call the tools again each time their results come back, N rounds in all
//!   (default 1)
//!
//! `GET /v1/models` lists [`MODELS`] unless told otherwise ([`FakeLlm::set_models`], or
//! `PUT /fake/models` with a JSON array of ids; [`models::catalogue`] makes a realistic one).
//!
//! Every request body is recorded, and the number of streams in flight is counted, so a test
//! can check what was asked and that a stopped reply really aborted the upstream request.

pub mod models;
mod tools;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{Value, json};

pub const MODELS: &[&str] = &["fake-model", "fake-model-large"];

#[derive(Default)]
struct Shared {
    models: Mutex<Option<Vec<String>>>,
    requests: Mutex<Vec<Value>>,
    in_flight: AtomicUsize,
    started: AtomicUsize,
}

/// A running fake provider.
#[derive(Clone)]
pub struct FakeLlm {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeLlm {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("valid address")).await
    }

    pub async fn start_on(addr: SocketAddr) -> Self {
        Self::serve(tokio::net::TcpListener::bind(addr).await.expect("the fake provider binds"))
    }

    /// Serves on a listener the caller made (a test that holds its port before the provider is up).
    pub fn serve(listener: tokio::net::TcpListener) -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/v1/models", get(list_models))
            .route("/fake/models", put(set_models))
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .with_state(shared.clone());
        let addr = listener.local_addr().expect("bound address");
        // Chunks leave at once (no Nagle delay), as a real streaming provider's do.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, shared }
    }

    /// The OpenAI-style base URL (`…/v1`).
    pub fn openai_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The Anthropic-style base URL.
    pub fn anthropic_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What `GET /v1/models` lists from now on.
    pub fn set_models(&self, ids: Vec<String>) {
        *self.shared.models.lock().expect("lock") = Some(ids);
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Streams currently being sent.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Streams started so far.
    pub fn started(&self) -> usize {
        self.shared.started.load(Ordering::SeqCst)
    }
}

/// What the last user message asks for.
#[derive(Debug, Default, Clone)]
struct Script {
    words: Vec<String>,
    delay: Duration,
    status: Option<u16>,
    fail_after: Option<usize>,
    drop_after: Option<usize>,
    stall_after: Option<usize>,
    stamp: bool,
    /// End as cut by the token limit.
    length: bool,
    endless: bool,
    comments_after: Option<usize>,
    endless_line_after: Option<usize>,
    endless_body: bool,
    /// This turn calls these tools (id, name, arguments) instead of answering.
    calls: Vec<(String, String, String)>,
}

fn directive<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("[[{name}"))? + name.len() + 2;
    let rest = &text[start..];
    let end = rest.find("]]")?;
    Some(rest[..end].trim_start_matches('='))
}

fn script(body: &Value, prompt_tokens: &mut usize) -> Script {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    *prompt_tokens =
        messages.iter().map(|m| m["content"].as_str().unwrap_or("").split_whitespace().count()).sum();
    // The user's last words (Anthropic's tool results travel in user turns too, as blocks).
    let asked_at = messages.iter().rposition(|m| m["role"] == "user" && m["content"].is_string());
    let last = asked_at.and_then(|i| messages[i]["content"].as_str()).unwrap_or("").to_owned();
    let after = asked_at.map_or(&messages[..0], |i| &messages[i + 1..]);
    let rounds_done = after.iter().filter(|m| m["role"] == "assistant").count();
    let results = tools::tool_results(after);
    let number = |name: &str| directive(&last, name).and_then(|v| v.parse::<u64>().ok());
    // Asked to carry on from the assistant's partial reply (a continuation).
    let continuing = messages.last().is_some_and(|m| m["role"] == "assistant");
    // Tools offered, and calls allowed (`tool_choice` "none" forbids them: OpenAI's string,
    // Anthropic's `{"type": "none"}`).
    let forbidden = body["tool_choice"] == "none" || body["tool_choice"]["type"] == "none";
    let offered = body["tools"].as_array().is_some_and(|tools| !tools.is_empty()) && !forbidden;
    let rounds = number("rounds").unwrap_or(1) as usize;
    let calls: Vec<(String, String, String)> = if offered && rounds_done < rounds {
        directives(&last, "call")
            .into_iter()
            .enumerate()
            .map(|(i, call)| {
                let (name, arguments) = call.split_once(' ').unwrap_or((call, "{}"));
                (format!("call_{rounds_done}_{i}"), name.to_owned(), arguments.trim().to_owned())
            })
            .collect()
    } else {
        Vec::new()
    };
    let words: Vec<String> = if !calls.is_empty() {
        Vec::new()
    } else if continuing {
        split_words(directive(&last, "continue").unwrap_or(" and the story went on."))
    } else if let Some(reply) = directive(&last, "reply") {
        split_words(reply)
    } else if let Some(n) = number("words") {
        (1..=n).map(|i| format!("w{i} ")).collect()
    } else if last.contains("[[endless]]") {
        Vec::new()
    } else if rounds_done > 0 {
        split_words(&format!("Tool results: {}", results.join(" | ")))
    } else {
        let cleaned: String = strip_directives(&last);
        split_words(&format!("Echo: {}", cleaned.trim()))
    };
    Script {
        words,
        delay: Duration::from_millis(number("delay").unwrap_or(0)),
        status: number("status").map(|s| s as u16),
        fail_after: number("fail_after").map(|n| n as usize),
        drop_after: number("drop_after").map(|n| n as usize),
        stall_after: if last.contains("[[stall]]") {
            Some(0)
        } else {
            number("stall_after").map(|n| n as usize)
        },
        stamp: last.contains("[[stamp]]"),
        length: last.contains("[[length]]") && !continuing,
        endless: last.contains("[[endless]]"),
        comments_after: number("comments_after").map(|n| n as usize),
        endless_line_after: number("endless_line_after").map(|n| n as usize),
        endless_body: last.contains("[[endless_body]]"),
        calls,
    }
}

/// Every `[[name=…]]` in `text`, in order.
fn directives<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(value) = directive(rest, name) {
        found.push(value);
        let start = rest.find(&format!("[[{name}")).expect("found above");
        rest = &rest[start + 2..];
    }
    found
}

fn strip_directives(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        out.push_str(&rest[..start]);
        match rest[start..].find("]]") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Words with their trailing spaces, so the chunks concatenate to the exact reply.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

async fn list_models(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let set = shared.models.lock().expect("lock").clone();
    let ids = set.unwrap_or_else(|| MODELS.iter().map(|m| (*m).to_owned()).collect());
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "owned_by": "fake", "type": "model"}))
        .collect();
    Json(json!({"object": "list", "data": data, "has_more": false}))
}

async fn set_models(State(shared): State<Arc<Shared>>, Json(ids): Json<Vec<String>>) -> StatusCode {
    *shared.models.lock().expect("lock") = Some(ids);
    StatusCode::NO_CONTENT
}

#[derive(Clone, Copy)]
enum Dialect {
    OpenAi,
    Anthropic,
}

async fn openai(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    respond(shared, body, Dialect::OpenAi)
}

async fn anthropic(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    respond(shared, body, Dialect::Anthropic)
}

fn respond(shared: Arc<Shared>, body: Value, dialect: Dialect) -> Response {
    shared.requests.lock().expect("lock").push(body.clone());
    let mut prompt_tokens = 0;
    let script = script(&body, &mut prompt_tokens);
    if let Some(status) = script.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if script.endless_body {
            let body = futures_util::stream::repeat_with(|| "x".repeat(64 * 1024)).then(|piece| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, std::io::Error>(piece)
            });
            return Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(body))
                .expect("valid response");
        }
        return (status, Json(json!({"error": {"message": format!("scripted failure {}", status.as_u16()), "type": "fake"}})))
            .into_response();
    }
    shared.started.fetch_add(1, Ordering::SeqCst);
    let model = body["model"].as_str().unwrap_or("fake-model").to_owned();
    let frames = frames(&script, dialect, &model, prompt_tokens);
    let guard = InFlight::new(shared);
    let stream =
        futures_util::stream::unfold((frames.into_iter(), guard), move |(mut frames, guard)| async move {
            let frame = frames.next()?;
            match frame {
                Frame::Data(text, delay) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok::<_, std::io::Error>(text), (frames, guard)))
                }
                Frame::Stamped(delay) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let micros = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros());
                    let chunk =
                        json!({"choices": [{"index": 0, "delta": {"content": format!("{micros} ")}}]});
                    Some((Ok(format!("data: {chunk}\n\n")), (frames, guard)))
                }
                Frame::Stall => {
                    std::future::pending::<()>().await;
                    None
                }
                Frame::Drop => {
                    // Give the chunks already sent time to leave before the connection is cut.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Err(std::io::Error::other("scripted connection drop")), (frames, guard)))
                }
            }
        });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .expect("valid response")
}

enum Frame {
    Data(String, Duration),
    /// An OpenAI content chunk whose text is the instant it is sent.
    Stamped(Duration),
    Stall,
    Drop,
}

type Frames = Box<dyn Iterator<Item = Frame> + Send>;

fn word_frame(dialect: Dialect, model: &str, word: &str) -> String {
    match dialect {
        Dialect::OpenAi => format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]})
        ),
        Dialect::Anthropic => format!(
            "event: content_block_delta\ndata: {}\n\n",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}})
        ),
    }
}

fn frames(script: &Script, dialect: Dialect, model: &str, prompt_tokens: usize) -> Frames {
    if !script.calls.is_empty() {
        return Box::new(tools::call_frames(script, dialect, model, prompt_tokens).into_iter());
    }
    let finite = finite_frames(script, dialect, model, prompt_tokens);
    let delay = script.delay;
    let sent = script.words.len();
    // The hostile endings: each replaces the end of the reply, after the words so far.
    let words_then = |n: usize| {
        finite_frames(
            &Script {
                words: script.words[..n.min(sent)].to_vec(),
                stall_after: Some(n.min(sent)),
                ..script.clone()
            },
            dialect,
            model,
            prompt_tokens,
        )
    };
    let without_stall = |mut frames: Vec<Frame>| {
        frames.pop();
        frames.into_iter()
    };
    if let Some(n) = script.comments_after {
        let comments =
            std::iter::repeat_with(|| Frame::Data(": keep-alive\n\n".into(), Duration::from_millis(50)));
        return Box::new(without_stall(words_then(n)).chain(comments));
    }
    if let Some(n) = script.endless_line_after {
        let line = std::iter::once(Frame::Data("data: ".into(), Duration::ZERO))
            .chain(std::iter::repeat_with(|| Frame::Data("x".repeat(64 * 1024), Duration::from_millis(5))));
        return Box::new(without_stall(words_then(n)).chain(line));
    }
    if script.endless {
        let model = model.to_owned();
        let endless =
            (1u64..).map(move |i| Frame::Data(word_frame(dialect, &model, &format!("e{i} ")), delay));
        return Box::new(without_stall(words_then(sent)).chain(endless));
    }
    Box::new(finite.into_iter())
}

fn finite_frames(script: &Script, dialect: Dialect, model: &str, prompt_tokens: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    let sse = |event: Option<&str>, data: Value| match event {
        Some(event) => format!("event: {event}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    };
    if let Dialect::Anthropic = dialect {
        let start = json!({"type": "message_start", "message": {"model": model, "usage": {"input_tokens": prompt_tokens, "output_tokens": 0}}});
        out.push(Frame::Data(sse(Some("message_start"), start), Duration::ZERO));
    }
    for (i, word) in script.words.iter().enumerate() {
        if script.stall_after == Some(i) {
            out.push(Frame::Stall);
            return out;
        }
        if script.drop_after == Some(i) {
            out.push(Frame::Drop);
            return out;
        }
        if script.stamp {
            out.push(Frame::Stamped(script.delay));
            continue;
        }
        if script.fail_after == Some(i) {
            let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "scripted mid-stream failure"}});
            let frame = match dialect {
                Dialect::OpenAi => sse(None, json!({"error": error["error"]})),
                Dialect::Anthropic => sse(Some("error"), error),
            };
            out.push(Frame::Data(frame, script.delay));
            return out;
        }
        let frame = match dialect {
            Dialect::OpenAi => sse(
                None,
                json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]}),
            ),
            Dialect::Anthropic => sse(
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": word}}),
            ),
        };
        out.push(Frame::Data(frame, script.delay));
    }
    if script.stall_after.is_some_and(|n| n >= script.words.len()) {
        out.push(Frame::Stall);
        return out;
    }
    let completion = script.words.len();
    match dialect {
        Dialect::OpenAi => {
            out.push(Frame::Data(
                sse(None, json!({"choices": [{"index": 0, "delta": {}, "finish_reason": if script.length { "length" } else { "stop" }}]})),
                Duration::ZERO,
            ));
            out.push(Frame::Data(
                sse(None, json!({"choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}})),
                Duration::ZERO,
            ));
            out.push(Frame::Data("data: [DONE]\n\n".into(), Duration::ZERO));
        }
        Dialect::Anthropic => {
            out.push(Frame::Data(sse(Some("message_delta"), json!({"type": "message_delta", "delta": {"stop_reason": if script.length { "max_tokens" } else { "end_turn" }}, "usage": {"output_tokens": completion}})), Duration::ZERO));
            out.push(Frame::Data(sse(Some("message_stop"), json!({"type": "message_stop"})), Duration::ZERO));
        }
    }
    out
}

/// Counts a stream as in flight until the response body is dropped (finished or aborted).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
