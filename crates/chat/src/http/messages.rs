//! Messages of a conversation: list, post (which starts the reply), SSE streaming.

use std::convert::Infallible;
use std::sync::Arc;

use api_types::chat::{Message, MessageStatus, PostMessage, PostedMessage, Role, ServerEvent};
use api_types::error::ErrorBody;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::http::{ApiError, ApiResult, Json, Query};
use common::token::AccessClaims;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use super::conversations::owned;
use super::validate;
use crate::auth::{AuthUser, BearerToken};
use crate::convert::message_to_wire;
use crate::generation::{Generation, Generations};
use crate::state::AppState;
use crate::store::{ConversationRecord, MessageRecord, NewMessage, Parent, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/{id}/messages", get(list).post(post))
        .route("/conversations/{id}/messages", get(list).post(post))
}

/// Stores a user message (on the active branch, or as a child of `parent` for an edit) and,
/// when `generate`, starts the reply.
pub(crate) async fn post_user_message(
    state: &AppState,
    claims: &AccessClaims,
    token: &str,
    conversation: &ConversationRecord,
    content: &str,
    parent: Option<Option<String>>,
    generate: bool,
) -> ApiResult<(MessageRecord, Option<Arc<Generation>>)> {
    let content = validate::content(content, state.config.max_message_chars)?;
    let slot = match generate {
        true => Some(state.generations.reserve(claims, token).await?),
        false => None,
    };
    state.limits.message(&state.db, claims, content.len() as u64, generate).await?;
    let parent = match &parent {
        Some(parent) => Parent::Exactly(parent.as_deref()),
        None => Parent::Newest,
    };
    let id = common::ids::random_id(common::ids::MESSAGE_ID_LEN);
    let message = NewMessage {
        id: &id,
        conversation_id: &conversation.id,
        parent,
        role: Role::User,
        content: &content,
        status: MessageStatus::Complete,
        model: None,
        lease_until: None,
    };
    let now = common::clock::now_millis();
    // With a reply, the user message and the reply's empty message are stored together.
    let reply_id = common::ids::random_id(common::ids::MESSAGE_ID_LEN);
    let model = state.generations.model_for(conversation);
    let mut rows = vec![message];
    if generate {
        rows.push(Generations::reply_row(conversation, Parent::Exactly(Some(&id)), &reply_id, &model, now));
    }
    let mut records = state.db.append_messages(&rows, now).await.map_err(store_error)?.into_iter();
    let record = records.next().expect("the user message was stored");
    // Every socket of the user watching this conversation (other tabs too) sees the message
    // before the reply's events, which follow through the same channel.
    state.generations.bus().publish(
        &conversation.owner_id,
        ServerEvent::MessageAccepted {
            conversation_id: conversation.id.clone(),
            message: message_to_wire(&record),
        },
    );
    let generation = match (records.next(), slot) {
        (Some(reply), Some(slot)) => {
            Some(state.generations.launch(slot, conversation, &reply, &record.content))
        }
        _ => None,
    };
    Ok((record, generation))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only messages older than this message id (paging from the newest end).
    before: Option<String>,
    /// At most this many (1 to 1000, default 1000), the newest of them, oldest first.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The messages of a conversation, oldest first. A page holds at most `limit` messages and at
/// most `chat.max_page_bytes` of text (at least one message): it may hold fewer than `limit`
/// while older messages remain. When they do, a `Link` header names the next page
/// (`rel="next"`: `before` the page's first message).
#[utoipa::path(get, operation_id = "list_messages", path = "/api/v1/conversations/{id}/messages", tag = "messages", params(ListParams),
    security(("bearer" = [])), responses(
        (status = 200, body = [Message], headers(("Link" = String, description = "`<…?before=ID&limit=N>; rel=\"next\"` when older messages remain"))),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let conversation = owned(&state, &claims, &id).await?;
    let limit = params.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be between 1 and 1000"));
    }
    let before = match params.before.as_deref() {
        Some(before) => {
            let message = lookup_message(&state, &claims, before).await?;
            if message.conversation_id != conversation.id {
                return Err(ApiError::invalid_field("before", "is not a message of this conversation"));
            }
            Some(message.position)
        }
        None => None,
    };
    let (messages, more) = state
        .db
        .message_page(&conversation.id, before, limit, state.config.max_page_bytes)
        .await
        .map_err(store_error)?;
    let body: Vec<Message> = messages.iter().map(message_to_wire).collect();
    let mut response = Json(body).into_response();
    if more && let Some(first) = messages.first() {
        let next = format!(
            "</api/v1/conversations/{}/messages?before={}&limit={limit}>; rel=\"next\"",
            conversation.id, first.id
        );
        if let Ok(value) = header::HeaderValue::from_str(&next) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// Where a new message goes: after `parent_id` (the end of the branch the user sees), which must
/// be a message of this conversation; without it, after the newest message.
pub(crate) async fn reply_parent(
    state: &AppState,
    claims: &AccessClaims,
    conversation: &ConversationRecord,
    parent_id: Option<&str>,
) -> ApiResult<Option<Option<String>>> {
    let Some(parent_id) = parent_id else { return Ok(None) };
    let not_here = || ApiError::invalid_field("parent_id", "is not a message of this conversation");
    let parent = lookup_message(state, claims, parent_id).await.map_err(|_| not_here())?;
    if parent.conversation_id != conversation.id {
        return Err(not_here());
    }
    Ok(Some(Some(parent.id)))
}

pub(crate) async fn lookup_message(
    state: &AppState,
    claims: &AccessClaims,
    id: &str,
) -> ApiResult<MessageRecord> {
    let not_found = || ApiError::not_found("Message not found");
    if !validate::plausible_id(id) {
        return Err(not_found());
    }
    state.db.message(id, &claims.sub).await.map_err(store_error)?.ok_or_else(not_found)
}

/// Send a message; the assistant's reply starts as a generation (streamed over the WebSocket,
/// or over this response with `Accept: text/event-stream`).
#[utoipa::path(post, operation_id = "post_message", path = "/api/v1/conversations/{id}/messages", tag = "messages", request_body = PostMessage,
    security(("bearer" = [])),
    responses((status = 201, body = PostedMessage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    BearerToken(token): BearerToken,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<PostMessage>,
) -> ApiResult<Response> {
    let conversation = owned(&state, &claims, &id).await?;
    if body.role.as_deref().is_some_and(|r| r != "user") {
        return Err(ApiError::invalid_field("role", "only user messages can be posted"));
    }
    if body.conversation_id.as_deref().is_some_and(|c| c != conversation.id) {
        return Err(ApiError::invalid_field(
            "conversation_id",
            "does not match the conversation in the path",
        ));
    }
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    // Subscribe before the reply starts, so the stream cannot miss its first events.
    let events = match wants_sse {
        true => Some(state.generations.bus().subscribe(&claims.sub).await),
        false => None,
    };
    let parent = reply_parent(&state, &claims, &conversation, body.parent_id.as_deref()).await?;
    let (message, generation) = post_user_message(
        &state,
        &claims,
        &token,
        &conversation,
        &body.content,
        parent,
        body.generate.unwrap_or(true),
    )
    .await?;
    let posted = PostedMessage {
        message: message_to_wire(&message),
        generation_id: generation.as_ref().map(|g| g.id.clone()),
    };
    match (events, generation) {
        (Some(events), Some(generation)) => Ok(sse(posted, events, generation).into_response()),
        _ => Ok((StatusCode::CREATED, Json(posted)).into_response()),
    }
}

/// The SSE form: the stored message first, then the same events as the WebSocket, until the
/// reply is done. A reader that falls behind the fan-out catches up from the generation's own
/// record, so no delta is lost and the stream always ends.
fn sse(
    posted: PostedMessage,
    events: crate::generation::Receiver,
    generation: Arc<Generation>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    use crate::generation::RecvError;
    let accepted = ServerEvent::MessageAccepted {
        conversation_id: posted.message.conversation_id.clone(),
        message: posted.message,
    };
    struct Progress {
        events: crate::generation::Receiver,
        generation: Arc<Generation>,
        last_seq: u64,
        done: bool,
    }
    let start = Progress { events, generation, last_seq: 0, done: false };
    let batches = futures_util::stream::unfold((Some(accepted), start), |(first, mut p)| async move {
        if let Some(first) = first {
            return Some((vec![first], (None, p)));
        }
        if p.done {
            return None;
        }
        loop {
            match p.events.recv().await {
                Ok(event) if belongs_to(&event, &p.generation.id) => {
                    match (event.numbered(), &*event) {
                        (Some((_, _, seq)), _) if seq <= p.last_seq => continue,
                        (Some((_, _, seq)), _) => p.last_seq = seq,
                        (None, ServerEvent::GenerationDone { .. }) => p.done = true,
                        _ => {}
                    }
                    return Some((vec![(*event).clone()], (None, p)));
                }
                Ok(_) => continue,
                Err(error @ (RecvError::Lagged(_) | RecvError::Closed)) => {
                    if matches!(error, RecvError::Closed) {
                        // No more fan-out: follow the generation's record until it ends.
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                    let (deltas, last, done) = p.generation.replay(p.last_seq);
                    p.last_seq = last;
                    let mut batch = deltas;
                    if let Some(done) = done {
                        p.done = true;
                        batch.push(done);
                    }
                    if batch.is_empty() {
                        continue;
                    }
                    return Some((batch, (None, p)));
                }
            }
        }
    });
    let stream =
        batches.flat_map(|batch| futures_util::stream::iter(batch.into_iter().map(|e| Ok(to_sse(&e)))));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn belongs_to(event: &ServerEvent, generation_id: &str) -> bool {
    match event {
        ServerEvent::GenerationStarted { generation_id: g, .. }
        | ServerEvent::GenerationQueued { generation_id: g, .. }
        | ServerEvent::Delta { generation_id: g, .. }
        | ServerEvent::ToolCallStarted { generation_id: g, .. }
        | ServerEvent::ToolCallUpdated { generation_id: g, .. }
        | ServerEvent::ToolCallDone { generation_id: g, .. }
        | ServerEvent::GenerationDone { generation_id: g, .. } => g == generation_id,
        _ => false,
    }
}

fn to_sse(event: &ServerEvent) -> SseEvent {
    SseEvent::default().json_data(event).unwrap_or_else(|_| SseEvent::default().data("{}"))
}

/// A conversation deleted mid-request is gone (404); a database that cannot be reached is a
/// 503 (the client may retry; nothing was stored); anything else is internal.
pub(crate) fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::ConversationGone => super::conversation_not_found(),
        StoreError::Database(error) => ApiError::database(&error),
        StoreError::Connect(error) => ApiError::unavailable(error),
    }
}
