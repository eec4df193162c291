//! Searching the caller's conversations by title and message text (`GET /api/v1/search`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::chat::Conversation;

/// One conversation that matches a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct SearchHit {
    pub conversation: Conversation,
    /// The newest message that contains every word, or `null` when only the title matches.
    pub message_id: Option<String>,
    /// Who wrote that message: `user`, `assistant` or `system`.
    pub role: Option<String>,
    /// A short plain-text excerpt of that message around the first match (whitespace
    /// collapsed, `…` where it is cut), or `null` when only the title matches.
    pub snippet: Option<String>,
}

/// `GET /api/v1/search` answer: the matching conversations, newest activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
}
