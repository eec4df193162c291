//! Chat service bodies and the WebSocket protocol (ws-protocol.md). Server frames are tagged
//! with `type`; client frames keep the seed's `{"action": …, "data": {…}}` shape.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

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
}

/// `POST /api/v1/conversations/` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct CreateConversation {
    pub title: String,
    /// When given, must be the caller's username.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
}

/// `PUT /api/v1/conversations/{id}` body; every field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct UpdateConversation {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// Token counts reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// One message. `status` is `complete`, `streaming`, `cancelled`, `failed` or `interrupted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct Message {
    /// 10-character random id.
    pub id: String,
    pub conversation_id: String,
    /// `user`, `assistant` or `system`.
    pub role: String,
    pub content: String,
    pub status: String,
    pub created_at: String,
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why a reply failed, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST …/messages` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(optional_fields)]
pub struct PostMessage {
    pub content: String,
    /// Only `user` may be posted (the default).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// `false` stores the message without asking the model.
    #[serde(default)]
    pub generate: Option<bool>,
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

/// `GET /api/v1/models`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct ModelList {
    pub models: Vec<Model>,
    pub default_model: Option<String>,
}

/// Where a running generation is, for a client that subscribes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct GenerationState {
    pub generation_id: String,
    pub message_id: String,
    /// The last `seq` sent so far.
    pub seq: u64,
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
        model: String,
    },
    /// New text of a reply; `seq` counts 1, 2, 3, … per generation without gaps.
    Delta {
        generation_id: String,
        conversation_id: String,
        seq: u64,
        text: String,
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
        /// `complete`, `cancelled` or `failed`.
        status: String,
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
    /// Bad input; the socket stays open.
    Error {
        code: String,
        detail: String,
    },
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
    Regenerate {
        message_id: String,
    },
    EditMessage {
        message_id: String,
        content: String,
    },
    Ping,
}
