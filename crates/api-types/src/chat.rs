//! Chat service bodies and the WebSocket protocol (ws-protocol.md). Server frames are tagged
//! with `type`; client frames keep the seed's `{"action": …, "data": {…}}` shape.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::mcp::ToolCall;
use crate::rules;

/// A conversation (seed field names, plus ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct Conversation {
    /// 12-character random id.
    pub id: String,
    pub title: String,
    /// The owner's username.
    pub user_id: String,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub message_count: i64,
    pub last_message_at: Option<String>,
    pub pinned: bool,
    pub archived: bool,
    /// Which MCP servers its replies may use (left out: every active one).
    #[serde(default, skip_serializing_if = "McpChoice::is_all")]
    #[ts(as = "Option<McpChoice>", optional)]
    pub mcp_servers: McpChoice,
}

/// Which MCP servers a conversation's replies may use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum McpChoice {
    /// Every active server its owner may use (the default).
    #[default]
    All,
    /// Only these (by id; none when empty).
    Only { servers: Vec<String> },
}

impl McpChoice {
    pub fn is_all(&self) -> bool {
        *self == Self::All
    }
}

/// `POST /api/v1/conversations/` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct CreateConversation {
    #[schema(schema_with = rules::schema::title)]
    pub title: String,
    /// When given, must be the caller's username.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    #[schema(schema_with = rules::schema::model_or_null)]
    pub model: Option<String>,
    #[serde(default)]
    #[schema(schema_with = rules::schema::system_prompt_or_null)]
    pub system_prompt: Option<String>,
}

/// `PUT /api/v1/conversations/{id}` body; every field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct UpdateConversation {
    #[serde(default)]
    #[schema(schema_with = rules::schema::title_or_null)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(schema_with = rules::schema::model_or_null)]
    pub model: Option<String>,
    #[serde(default)]
    #[schema(schema_with = rules::schema::system_prompt_or_null)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
    /// `{"mode": "all"}` or `{"mode": "only", "servers": [ids]}` (at most 50 of the caller's).
    #[serde(default)]
    pub mcp_servers: Option<McpChoice>,
}

/// Token counts reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// Where a message stands. A user message is always `complete`; a reply is `streaming` until it
/// ends `complete`, `incomplete` (cut short by the model: see `finish_reason`), `cancelled` (the
/// user stopped it), `failed` (see `error`) or `interrupted` (its server stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Streaming,
    Complete,
    Incomplete,
    Cancelled,
    Failed,
    Interrupted,
}

/// Why the model ended a reply before its natural end (status `incomplete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The reply reached the token limit; it can be continued.
    Length,
    /// The provider's content filter cut it.
    ContentFilter,
}

/// The wire names of a string enum, for storage as text.
macro_rules! wire_names {
    ($type:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            /// The value named `name` (as stored), if any.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

wire_names!(Role { User => "user", Assistant => "assistant", System => "system" });
wire_names!(MessageStatus {
    Streaming => "streaming",
    Complete => "complete",
    Incomplete => "incomplete",
    Cancelled => "cancelled",
    Failed => "failed",
    Interrupted => "interrupted",
});
wire_names!(FinishReason { Length => "length", ContentFilter => "content_filter" });

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct Message {
    /// 10-character random id.
    pub id: String,
    pub conversation_id: String,
    pub role: Role,
    pub content: String,
    pub status: MessageStatus,
    pub created_at: String,
    /// The message's place in its conversation: 1, 2, 3, … in the order the server stored
    /// them, never reused. Clients order by this (and by `parent_id` for branches), never by
    /// `created_at`, which two messages stored together share.
    pub position: i64,
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why a reply failed, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why a reply is `incomplete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub finish_reason: Option<FinishReason>,
    /// The tools a reply called, in order (left out when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<ToolCall>>", optional)]
    pub tool_calls: Vec<ToolCall>,
}

/// `POST …/messages` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct PostMessage {
    #[schema(schema_with = rules::schema::content)]
    pub content: String,
    /// Only `user` may be posted (the default).
    #[serde(default)]
    #[schema(value_type = Option<PostedRole>)]
    pub role: Option<String>,
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// `false` stores the message without asking the model.
    #[serde(default)]
    pub generate: Option<bool>,
    /// The message this one answers: the last message of the branch the user sees. Without
    /// it, the newest message of the conversation.
    #[serde(default)]
    #[schema(schema_with = rules::schema::id_or_null)]
    pub parent_id: Option<String>,
}

/// The one role a client may post.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostedRole {
    User,
}

/// `POST …/messages` answer: the stored user message and the reply's generation id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct PostedMessage {
    #[serde(flatten)]
    pub message: Message,
    pub generation_id: Option<String>,
}

/// A model a conversation can use.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct Model {
    pub id: String,
    pub provider: String,
}

/// Whether a provider's model list could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum ProviderState {
    /// Its first answer is still awaited.
    Pending,
    Ok,
    /// It could not be reached when last asked; its last known models stay offered.
    Unreachable,
}

/// A model provider as the chat service last saw it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct ProviderStatus {
    pub name: String,
    pub state: ProviderState,
    /// Since when it is unreachable (RFC 3339).
    pub unreachable_since: Option<String>,
    /// Why it could not be reached, as a sentence.
    pub error: Option<String>,
    /// Models offered.
    pub models: u32,
    /// Models listed but not offered (embeddings, speech, images, …).
    pub hidden_models: u32,
    /// When its list was last read (RFC 3339).
    pub refreshed_at: Option<String>,
}

/// `GET /api/v1/models`: the models conversations can pick (grouped by provider, in
/// configuration order), the default, and each provider's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct ModelList {
    pub models: Vec<Model>,
    pub default_model: Option<String>,
    pub providers: Vec<ProviderStatus>,
}

/// Where a running generation is, for a client that subscribes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct GenerationState {
    pub generation_id: String,
    pub message_id: String,
    /// The last `seq` sent so far.
    pub seq: u64,
    /// Text the reply already had when this generation started (a continuation); the deltas
    /// append to it.
    pub prefix: String,
}

/// Frames the server sends, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// Answer to `authenticate`.
    Authenticated {
        username: String,
    },
    /// Answer to `start_conversation`; `conversation_id` and `id` at the top level, as seed
    /// clients expect.
    ConversationStarted {
        conversation_id: String,
        id: String,
        conversation: Conversation,
    },
    /// The user message is stored (first answer to `send_message` and `edit_message`).
    MessageAccepted {
        conversation_id: String,
        message: Message,
    },
    GenerationStarted {
        generation_id: String,
        conversation_id: String,
        /// The reply being written.
        message_id: String,
        /// The user message it answers (the reply's `parent_id`).
        parent_id: String,
        /// The reply's `position` in the conversation.
        position: i64,
        model: String,
        /// Text the reply already had (when continuing a reply); the deltas append to it.
        prefix: String,
    },
    /// New text of a reply; `seq` counts 1, 2, 3, … per generation without gaps.
    Delta {
        generation_id: String,
        conversation_id: String,
        seq: u64,
        text: String,
    },
    /// The model calls a tool; numbered with the deltas (`seq`), so a resume replays it.
    ToolCallStarted {
        generation_id: String,
        conversation_id: String,
        seq: u64,
        call: ToolCall,
    },
    /// A running tool call changed: the user answered its approval, or its server reported
    /// progress; numbered with the deltas.
    ToolCallUpdated {
        generation_id: String,
        conversation_id: String,
        seq: u64,
        call: ToolCall,
    },
    /// A tool call ended (`call.result` or `call.error`, and `call.duration_ms`); numbered with
    /// the deltas.
    ToolCallDone {
        generation_id: String,
        conversation_id: String,
        seq: u64,
        call: ToolCall,
    },
    /// Waiting for earlier replies of the same conversation to finish.
    GenerationQueued {
        generation_id: String,
        conversation_id: String,
        position: u32,
    },
    GenerationDone {
        generation_id: String,
        conversation_id: String,
        /// The reply's final status (`complete`, `incomplete`, `cancelled`, `failed` or
        /// `interrupted`); the stored message follows.
        status: MessageStatus,
        message: Message,
        usage: Option<Usage>,
        /// For `failed`: a sentence saying why.
        reason: Option<String>,
    },
    /// Answer to `end_conversation`.
    ConversationEnded {
        conversation_id: String,
    },
    /// Answer to `subscribe`: the running generation, if any, whose deltas after `after_seq`
    /// follow.
    Subscribed {
        conversation_id: String,
        generation: Option<GenerationState>,
    },
    ConversationUpdated {
        conversation: Conversation,
    },
    ConversationDeleted {
        conversation_id: String,
    },
    Pong,
    /// Events of this user may have been lost (the socket fell behind, or the link between
    /// replicas was interrupted). Replies of watched conversations have been caught up on this
    /// socket already; other changes (titles, deletions, messages posted elsewhere) are to be
    /// read again by REST.
    Resync,
    /// Bad input; the socket stays open.
    Error {
        code: String,
        detail: String,
    },
}

impl ServerEvent {
    /// For a generation's numbered events (deltas and tool calls): its conversation,
    /// generation and `seq`.
    pub fn numbered(&self) -> Option<(&str, &str, u64)> {
        match self {
            Self::Delta { conversation_id, generation_id, seq, .. }
            | Self::ToolCallStarted { conversation_id, generation_id, seq, .. }
            | Self::ToolCallUpdated { conversation_id, generation_id, seq, .. }
            | Self::ToolCallDone { conversation_id, generation_id, seq, .. } => {
                Some((conversation_id, generation_id, *seq))
            }
            _ => None,
        }
    }
}

/// Frames the client sends: `{"action": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(tag = "action", content = "data", rename_all = "snake_case")]
#[ts(optional_fields)]
pub enum ClientAction {
    Authenticate {
        token: String,
    },
    StartConversation {
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        system_prompt: Option<String>,
    },
    SendMessage {
        conversation_id: String,
        content: String,
        /// As in `POST …/messages`: the last message of the branch the user sees.
        #[serde(default)]
        parent_id: Option<String>,
    },
    EndConversation {
        conversation_id: String,
    },
    Subscribe {
        conversation_id: String,
        /// The last `seq` the client has of `generation_id` (or of the newest generation).
        #[serde(default)]
        after_seq: Option<u64>,
        #[serde(default)]
        generation_id: Option<String>,
    },
    Stop {
        generation_id: String,
    },
    /// Run (`approved: true`) or decline a tool call waiting for the user's approval.
    AnswerToolCall {
        generation_id: String,
        call_id: String,
        approved: bool,
    },
    Regenerate {
        message_id: String,
    },
    EditMessage {
        message_id: String,
        content: String,
    },
    /// Continue a reply that ended early (`incomplete`, `cancelled` or `interrupted`): a new
    /// generation appends to the same message.
    Continue {
        message_id: String,
    },
    Ping,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names stored in the database are the names on the wire.
    #[test]
    fn stored_names_are_the_wire_names() {
        fn check<T: Serialize + Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for &value in all {
                assert_eq!(serde_json::to_value(value).unwrap(), as_str(value));
                assert_eq!(parse(as_str(value)), Some(value));
            }
            assert_eq!(parse("nonsense"), None);
        }
        check(&[Role::User, Role::Assistant, Role::System], Role::as_str, Role::parse);
        use MessageStatus::*;
        let statuses = [Streaming, Complete, Incomplete, Cancelled, Failed, Interrupted];
        check(&statuses, MessageStatus::as_str, MessageStatus::parse);
        let reasons = [FinishReason::Length, FinishReason::ContentFilter];
        check(&reasons, FinishReason::as_str, FinishReason::parse);
    }
}
