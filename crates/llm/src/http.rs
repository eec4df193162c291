use std::time::Duration;

use std::collections::VecDeque;

use futures_util::StreamExt;

use crate::sse::{SseDecoder, SseEvent};
use crate::{FinishReason, LlmError, StreamEvent};

/// How the server talks to a provider: timeouts and bounds. Streaming needs an idle timeout
/// between events, not a total timeout (a long answer may take minutes; the chat service bounds
/// a reply's total time itself).
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// Longest wait for the response headers, and again for the first event.
    pub first_token_timeout: Duration,
    /// Longest wait for the next event once streaming; comments (keep-alives) and partial lines
    /// do not count as one.
    pub idle_timeout: Duration,
    /// `max_tokens` sent with each request that sets none, and the most content deltas read of
    /// one reply (a delta carries at least one token); `None` sends and counts nothing.
    pub max_tokens: Option<u32>,
    /// Longest line, and event, of the event stream in bytes.
    pub max_line_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            first_token_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_tokens: Some(4096),
            max_line_bytes: 1024 * 1024,
        }
    }
}

/// Most bytes of an error response read (its message is shown shortened anyway).
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

impl HttpSettings {
    pub(crate) fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.idle_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .expect("a plain reqwest client always builds")
    }
}

/// Sends a request and waits (at most the first-token timeout) for a success status. An error
/// status's body is read up to [`MAX_ERROR_BODY_BYTES`], within the same time bound.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    settings: &HttpSettings,
) -> Result<reqwest::Response, LlmError> {
    let response = tokio::time::timeout(settings.first_token_timeout, request.send())
        .await
        .map_err(|_| LlmError::Timeout)?
        .map_err(|e| LlmError::from_reqwest(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = read_prefix(response, MAX_ERROR_BODY_BYTES, settings.first_token_timeout).await;
    Err(LlmError::from_status(status.as_u16(), &String::from_utf8_lossy(&body)))
}

/// At most `max` bytes of a body, read for at most `time`; what came until then on a timeout
/// or a broken connection.
async fn read_prefix(mut response: reqwest::Response, max: usize, time: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = max - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() == max {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(time, read).await;
    body
}

/// The server-sent events of a streaming response, decoded with bounded lines: the first
/// within the first-token timeout, each later one within the idle timeout of the one before.
pub(crate) fn sse_events(
    mut response: reqwest::Response,
    settings: &HttpSettings,
) -> impl futures_util::Stream<Item = Result<SseEvent, LlmError>> + Send + 'static {
    let first_wait = settings.first_token_timeout;
    let idle = settings.idle_timeout;
    let mut decoder = SseDecoder::new(settings.max_line_bytes);
    async_stream(move |tx| async move {
        let mut ready = VecDeque::new();
        let mut wait = first_wait;
        loop {
            // Read until an event is complete (or the body ends); keep-alive comments and
            // partial lines do not extend the wait.
            let read = async {
                loop {
                    match response.chunk().await {
                        Ok(Some(bytes)) => {
                            decoder.feed(&bytes, &mut ready).map_err(|e| LlmError::Stream(e.to_string()))?;
                            if !ready.is_empty() {
                                return Ok(true);
                            }
                        }
                        Ok(None) => return Ok(false),
                        Err(e) => return Err(LlmError::from_reqwest(&e)),
                    }
                }
            };
            let more = match tokio::time::timeout(wait, read).await {
                Ok(Ok(more)) => more,
                Ok(Err(e)) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                Err(_) => {
                    let _ = tx.send(Err(LlmError::Timeout)).await;
                    return;
                }
            };
            while let Some(event) = ready.pop_front() {
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if !more {
                return;
            }
            wait = idle;
        }
    })
}

/// Ends a stream of events as cut by the token limit once it brings more than `max` deltas
/// (each carries at least one token, so a provider that honours `max_tokens` never gets here).
pub(crate) fn limit_deltas(mut events: crate::EventStream, max: Option<u32>) -> crate::EventStream {
    let Some(max) = max else { return events };
    async_stream(move |tx| async move {
        let mut deltas = 0u32;
        while let Some(item) = events.next().await {
            if let Ok(StreamEvent::Delta(_)) = item {
                deltas += 1;
                if deltas > max {
                    let _ = tx.send(Ok(StreamEvent::Finish(FinishReason::Length))).await;
                    return;
                }
            }
            if tx.send(item).await.is_err() {
                return;
            }
        }
    })
    .boxed()
}

/// A tiny generator: runs `body` with a sender and yields what it sends. Dropping the stream
/// drops the task's receiver side, and the task ends at its next send.
pub(crate) fn async_stream<T, F, Fut>(body: F) -> impl futures_util::Stream<Item = T> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(body(tx));
    let abort = AbortOnDrop(task);
    futures_util::stream::unfold((rx, abort), |(mut rx, abort)| async move {
        rx.recv().await.map(|item| (item, (rx, abort)))
    })
}

/// Aborts the producing task (and with it the upstream HTTP request) when the consumer goes.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Largest model list read (OpenRouter's, with every model's metadata, is about 1 MB).
const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// The ids of a model list (`{"data": [{"id": …}, …]}`, the shape of OpenAI, Anthropic and
/// every OpenAI-compatible server), read up to a size bound.
pub(crate) async fn list_ids(mut response: reqwest::Response) -> Result<Vec<String>, LlmError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| LlmError::from_reqwest(&e))? {
        if body.len() + chunk.len() > MAX_LIST_BYTES {
            return Err(LlmError::Stream("the model list is too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let list: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| LlmError::Stream("the model list is not JSON".into()))?;
    let data = list["data"]
        .as_array()
        .ok_or_else(|| LlmError::Stream("the model list has no `data` array".into()))?;
    Ok(data.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect())
}
