use std::time::Duration;

use futures_util::StreamExt;

use crate::LlmError;

/// Timeouts for talking to a provider. Streaming needs an idle timeout between chunks, not
/// a total timeout (a long answer may take minutes).
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// Longest wait for the response headers and the first chunk.
    pub first_token_timeout: Duration,
    /// Longest silence between two chunks once streaming.
    pub idle_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            first_token_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

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

/// Sends a request and waits (at most the first-token timeout) for a success status.
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
    let body = response.text().await.unwrap_or_default();
    Err(LlmError::from_status(status.as_u16(), &body))
}

/// The SSE events of a streaming response, with the first one bounded by the first-token
/// timeout (later ones by the client's idle read timeout).
pub(crate) fn sse_events(
    response: reqwest::Response,
    settings: &HttpSettings,
) -> impl futures_util::Stream<Item = Result<eventsource_stream::Event, LlmError>> + Send + 'static {
    use eventsource_stream::Eventsource;
    let first_deadline = settings.first_token_timeout;
    let mut events = response.bytes_stream().eventsource();
    let mut first = true;
    async_stream(move |tx| async move {
        loop {
            let next = if first {
                first = false;
                match tokio::time::timeout(first_deadline, events.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let _ = tx.send(Err(LlmError::Timeout)).await;
                        return;
                    }
                }
            } else {
                events.next().await
            };
            let item = match next {
                None => return,
                Some(Ok(event)) => Ok(event),
                Some(Err(eventsource_stream::EventStreamError::Transport(e))) => {
                    Err(LlmError::from_reqwest(&e))
                }
                Some(Err(e)) => Err(LlmError::Stream(e.to_string())),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    })
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
