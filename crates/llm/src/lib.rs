//! Language-model providers behind one trait. This crate knows nothing of users or
//! conversations: it turns a list of messages into a stream of text deltas.

mod anthropic;
pub mod catalog;
mod error;
mod http;
mod openai;
mod registry;
pub mod sse;
pub mod tools;

pub use anthropic::AnthropicProvider;
pub use error::LlmError;
pub use http::{HttpSettings, MAX_ERROR_BODY_BYTES};
pub use openai::OpenAiProvider;
pub use registry::{
    ModelFilter, ModelInfo, ProviderEntry, ProviderHealth, ProviderStatus, Registry, RegistryOptions,
};
pub use tools::{ToolCall, ToolResult, ToolRound, ToolSpec};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// One completion request. When the last message is the assistant's, the model continues it
/// (the reply to a `continue`): its deltas are appended to that text.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// Tools the model may call (only for providers that [support](Provider::supports_tools)
    /// them).
    pub tools: Vec<ToolSpec>,
    /// The rounds of the tool loop so far in this reply, after `messages`.
    pub rounds: Vec<ToolRound>,
    /// The tools stay described (the rounds refer to them) but the model may call none: it
    /// must answer now (the last round).
    pub final_answer: bool,
}

/// Token counts, when the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// What a provider stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// New text, never the whole message again.
    Delta(String),
    Usage(Usage),
    /// The request waits behind this many others (a local model answers one at a time); sent
    /// again whenever the number changes, before the first delta.
    Queued(u32),
    /// The model stopped before the reply's natural end; sent once, before the stream ends.
    Finish(FinishReason),
    /// The model ends its turn by calling these tools (whole, in order); sent once, before the
    /// stream ends. The caller runs them and asks again with their results.
    ToolCalls(Vec<ToolCall>),
}

/// Why a model stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The token limit (the request's, the provider's or the context window).
    Length,
    /// The provider's content filter.
    ContentFilter,
}

pub type EventStream = BoxStream<'static, Result<StreamEvent, LlmError>>;

/// A model provider. `stream` resolves once the provider has accepted the request; the stream
/// then yields deltas until the reply ends (the stream ends) or fails (an `Err` item).
/// Dropping the stream aborts the upstream request.
pub trait Provider: Send + Sync {
    /// The provider's name in configuration (e.g. `openai`, `anthropic`, `ollama`).
    fn name(&self) -> &str;
    /// The models this provider serves, as it lists them now.
    fn models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>>;
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>>;
    /// Whether requests may offer tools (function calling).
    fn supports_tools(&self) -> bool {
        false
    }
    /// Requests waiting for their turn, for a provider that queues them (the local model).
    fn queued(&self) -> Option<usize> {
        None
    }
}
