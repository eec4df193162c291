//! `GET /api/v1/search`: the caller's conversations by the words in their titles and messages.

use super::messages::store_error;
use api_types::error::ErrorBody;
use api_types::search::{SearchHit, SearchResults};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::http::{ApiError, ApiResult, Json, Query};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::convert::conversation_to_wire;
use crate::snippet::snippet;
use crate::state::AppState;
use crate::store::SearchQuery;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words in a query (each is one more test per message).
pub const MAX_WORDS: usize = 10;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find, separated by spaces (at most 200 characters and 10 words). Each must occur
    /// in the title or in one message, case-insensitively, anywhere (also inside a word);
    /// `%`, `_` and `\` are ordinary characters.
    #[param(value_type = api_types::rules::SearchQuery)]
    q: String,
    /// Only archived (`true`) or only active (`false`) conversations.
    archived: Option<bool>,
    /// Most results, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The words of a query: bounded, without repeats (case-insensitively). The documents state
/// the same rule (`api_types::rules::SEARCH_WORDS`).
fn words(q: &str) -> ApiResult<Vec<String>> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid_field("q", "must be at most 200 characters"));
    }
    if q.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("q", "must not contain control characters"));
    }
    if q.trim().is_empty() {
        return Err(ApiError::invalid_field("q", "must not be empty"));
    }
    if q.split_whitespace().count() > MAX_WORDS {
        return Err(ApiError::invalid_field("q", "must have at most 10 words"));
    }
    let mut words: Vec<String> = Vec::new();
    for word in q.split_whitespace() {
        if !words.iter().any(|w| w.to_lowercase() == word.to_lowercase()) {
            words.push(word.to_owned());
        }
    }
    Ok(words)
}

/// Search the caller's conversations: every word must occur in the title or in one of its
/// messages. Newest activity first; each hit names the newest matching message and shows an
/// excerpt of it.
#[utoipa::path(get, operation_id = "search_messages", path = "/api/v1/search", tag = "conversations", params(SearchParams),
    security(("bearer" = [])),
    responses((status = 200, body = SearchResults), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let words = words(&params.q)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be between 1 and 100"));
    }
    let query = SearchQuery { words: &words, archived: params.archived, limit };
    let found = state.db.search(&claims.sub, &query).await.map_err(store_error)?;
    let results = found
        .into_iter()
        .map(|m| SearchHit {
            conversation: conversation_to_wire(&m.conversation),
            snippet: m.message.as_ref().map(|msg| snippet(&msg.content, &words)),
            message_id: m.message.as_ref().map(|msg| msg.id.clone()),
            role: m.message.map(|msg| msg.role),
        })
        .collect();
    Ok(Json(SearchResults { results }))
}
