//! Stored records to wire types.

use api_types::chat::{Conversation, Message, Usage};

use crate::store::{ConversationRecord, MessageRecord};

pub fn conversation_to_wire(c: &ConversationRecord) -> Conversation {
    Conversation {
        id: c.id.clone(),
        title: c.title.clone(),
        user_id: c.user_id.clone(),
        model: c.model.clone(),
        system_prompt: c.system_prompt.clone(),
        created_at: common::clock::rfc3339_millis(c.created_at),
        updated_at: common::clock::rfc3339_millis(c.updated_at),
        message_count: c.message_count,
        last_message_at: c.last_message_at.map(common::clock::rfc3339_millis),
        pinned: c.pinned,
        archived: c.archived,
        mcp_servers: match c.mcp_servers.as_deref().map(serde_json::from_str::<Vec<String>>) {
            Some(Ok(servers)) => api_types::chat::McpChoice::Only { servers },
            _ => api_types::chat::McpChoice::All,
        },
    }
}

pub fn message_to_wire(m: &MessageRecord) -> Message {
    let usage = match (m.prompt_tokens, m.completion_tokens) {
        (Some(p), Some(c)) => Some(Usage { prompt_tokens: p as u32, completion_tokens: c as u32 }),
        _ => None,
    };
    Message {
        id: m.id.clone(),
        conversation_id: m.conversation_id.clone(),
        role: m.role,
        content: m.content.clone(),
        status: m.status,
        created_at: common::clock::rfc3339_millis(m.created_at),
        position: m.position,
        parent_id: m.parent_id.clone(),
        model: m.model.clone(),
        usage,
        error: m.error.clone(),
        finish_reason: m.finish_reason,
        tool_calls: m.tool_calls.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default(),
    }
}
