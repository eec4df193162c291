//! Conversations CRUD (and the seed README's aliases).

use super::messages::store_error;
use api_types::chat::{Conversation, CreateConversation, ServerEvent, UpdateConversation};
use api_types::error::ErrorBody;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use common::http::{ApiError, ApiResult, Json, Query};
use common::token::AccessClaims;
use serde::Deserialize;

use super::{conversation_not_found, validate};
use crate::auth::AuthUser;
use crate::convert::conversation_to_wire;
use crate::state::AppState;
use crate::store::{ConversationPatch, ConversationRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/", get(list).post(create))
        .route("/conversations/", get(list).post(create))
        .route("/api/v1/conversations/{id}", get(read).put(update).delete(remove))
        .route("/api/v1/users/{username}/conversations/{id}", delete(remove_for_user))
}

/// Creates a conversation for the caller, with the caller's default model and system prompt
/// where none is sent.
pub(crate) async fn create_for(
    state: &AppState,
    claims: &AccessClaims,
    title: &str,
    model: Option<&str>,
    system_prompt: Option<&str>,
) -> ApiResult<ConversationRecord> {
    let title = validate::title(title)?;
    state.limits.conversation(&state.db, claims).await?;
    let (model, system_prompt) =
        super::settings::for_new_conversation(state, &claims.sub, model, system_prompt).await?;
    let now = common::clock::now_millis();
    let record = ConversationRecord {
        id: common::ids::random_id(common::ids::CONVERSATION_ID_LEN),
        owner_id: claims.sub.clone(),
        user_id: claims.preferred_username.clone(),
        title,
        model,
        system_prompt,
        pinned: false,
        archived: false,
        message_count: 0,
        created_at: now,
        updated_at: now,
        last_message_at: None,
        mcp_servers: None,
    };
    state.db.create_conversation(&record).await.map_err(store_error)?;
    Ok(record)
}

/// The caller's conversation, or 404 (also for other users' ids).
pub(crate) async fn owned(
    state: &AppState,
    claims: &AccessClaims,
    id: &str,
) -> ApiResult<ConversationRecord> {
    if !validate::plausible_id(id) {
        return Err(conversation_not_found());
    }
    state.db.conversation(id, &claims.sub).await.map_err(store_error)?.ok_or_else(conversation_not_found)
}

fn check_user_id(claims: &AccessClaims, user_id: Option<&str>) -> ApiResult<()> {
    match user_id {
        Some(u) if !u.eq_ignore_ascii_case(&claims.preferred_username) => {
            Err(ApiError::forbidden("user_id must be your own username"))
        }
        _ => Ok(()),
    }
}

/// Start a conversation. Without `model` or `system_prompt`, the caller's defaults
/// (`GET /api/v1/settings`) apply; `""` asks for none (the server's default model, no prompt).
#[utoipa::path(post, operation_id = "create_conversation", path = "/api/v1/conversations/", tag = "conversations", request_body = CreateConversation,
    security(("bearer" = [])),
    responses((status = 201, body = Conversation), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Json(body): Json<CreateConversation>,
) -> ApiResult<(StatusCode, Json<Conversation>)> {
    check_user_id(&claims, body.user_id.as_deref())?;
    let record =
        create_for(&state, &claims, &body.title, body.model.as_deref(), body.system_prompt.as_deref())
            .await?;
    let conversation = conversation_to_wire(&record);
    state
        .generations
        .bus()
        .publish(&claims.sub, ServerEvent::ConversationUpdated { conversation: conversation.clone() });
    Ok((StatusCode::CREATED, Json(conversation)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Accepted for seed clients; must be the caller's username.
    user_id: Option<String>,
    /// Title search (case-insensitive).
    #[param(schema_with = api_types::rules::schema::title_query)]
    q: Option<String>,
    /// Only archived (`true`) or only active (`false`) conversations.
    archived: Option<bool>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// The caller's conversations, newest activity first.
#[utoipa::path(get, operation_id = "list_conversations", path = "/api/v1/conversations/", tag = "conversations", params(ListParams),
    security(("bearer" = [])), responses((status = 200, body = [Conversation]), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<Conversation>>> {
    check_user_id(&claims, params.user_id.as_deref())?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be between 1 and 500"));
    }
    if params.q.as_deref().is_some_and(|q| q.chars().count() > 200 || q.contains('\0')) {
        return Err(ApiError::invalid_field("q", "must be at most 200 characters without NUL"));
    }
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let offset = params.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_field("offset", "must not be negative"));
    }
    let records = state
        .db
        .list_conversations(&claims.sub, q, params.archived, limit, offset)
        .await
        .map_err(store_error)?;
    Ok(Json(records.iter().map(conversation_to_wire).collect()))
}

/// One conversation.
#[utoipa::path(get, operation_id = "read_conversation", path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(conversation_to_wire(&owned(&state, &claims, &id).await?)))
}

/// Rename, re-model, pin or archive a conversation.
#[utoipa::path(put, operation_id = "update_conversation", path = "/api/v1/conversations/{id}", tag = "conversations", request_body = UpdateConversation,
    security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    Json(body): Json<UpdateConversation>,
) -> ApiResult<Json<Conversation>> {
    owned(&state, &claims, &id).await?;
    let registry = state.generations.registry();
    let patch = ConversationPatch {
        title: body.title.as_deref().map(validate::title).transpose()?,
        model: body.model.as_deref().map(|m| validate::model(m, registry)).transpose()?,
        system_prompt: body.system_prompt.as_deref().map(validate::system_prompt).transpose()?,
        pinned: body.pinned,
        archived: body.archived,
        mcp_servers: match body.mcp_servers {
            Some(choice) => Some(super::mcp::choice_to_store(&state, &claims, choice).await?),
            None => None,
        },
    };
    let record = state
        .db
        .update_conversation(&id, &claims.sub, patch, common::clock::now_millis())
        .await
        .map_err(store_error)?
        .ok_or_else(conversation_not_found)?;
    let conversation = conversation_to_wire(&record);
    state
        .generations
        .bus()
        .publish(&claims.sub, ServerEvent::ConversationUpdated { conversation: conversation.clone() });
    Ok(Json(conversation))
}

/// Delete a conversation and its messages.
#[utoipa::path(delete, operation_id = "delete_conversation", path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_owned(&state, &claims, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The seed's `DELETE /api/v1/users/{username}/conversations/{id}`.
pub async fn remove_for_user(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path((username, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if !username.eq_ignore_ascii_case(&claims.preferred_username) {
        return Err(conversation_not_found());
    }
    delete_owned(&state, &claims, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn delete_owned(state: &AppState, claims: &AccessClaims, id: &str) -> ApiResult<()> {
    if !validate::plausible_id(id)
        || !state.db.delete_conversation(id, &claims.sub).await.map_err(store_error)?
    {
        return Err(conversation_not_found());
    }
    // Its replies stop, on whichever replica they run.
    for generation in state.generations.snapshots_in(id, &claims.sub).await {
        if !generation.is_done() {
            state.generations.stop(&generation.id, &claims.sub).await;
        }
    }
    state
        .generations
        .bus()
        .publish(&claims.sub, ServerEvent::ConversationDeleted { conversation_id: id.to_owned() });
    Ok(())
}
