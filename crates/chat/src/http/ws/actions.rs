//! What a session does with each client action, and how it forwards a generation's events.

use std::time::Duration;

use api_types::chat::{ClientAction, MessageStatus, Role, ServerEvent};
use axum::extract::ws::Message as WsMessage;
use axum::http::StatusCode;
use common::http::{ApiError, ApiResult};

use super::socket::{Socket, encode, send};
use super::{DONE_SENT, Forwarded, Session};
use crate::convert::conversation_to_wire;
use crate::generation::Event;
use crate::http::conversations::{create_for, owned};
use crate::http::messages::{lookup_message, post_user_message, reply_parent, store_error};

impl Session {
    pub(super) async fn handle(&mut self, socket: &mut Socket, action: ClientAction) -> ApiResult<()> {
        let claims = self.claims().clone();
        let token = self.token.clone();
        let state = self.state.clone();
        match action {
            ClientAction::Authenticate { .. } => {}
            ClientAction::Ping => send(socket, &ServerEvent::Pong).await,
            ClientAction::StartConversation { title, model, system_prompt } => {
                let title = title
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| crate::generation::DEFAULT_TITLE.into());
                let record =
                    create_for(&state, &claims, &title, model.as_deref(), system_prompt.as_deref()).await?;
                self.watch(record.id.clone());
                let conversation = conversation_to_wire(&record);
                let started = ServerEvent::ConversationStarted {
                    conversation_id: record.id.clone(),
                    id: record.id.clone(),
                    conversation: conversation.clone(),
                };
                send(socket, &started).await;
                state
                    .generations
                    .bus()
                    .publish(&claims.sub, ServerEvent::ConversationUpdated { conversation });
            }
            ClientAction::SendMessage { conversation_id, content, parent_id } => {
                let conversation = owned(&state, &claims, &conversation_id).await?;
                self.watch(conversation.id.clone());
                let parent = reply_parent(&state, &claims, &conversation, parent_id.as_deref()).await?;
                post_user_message(&state, &claims, &token, &conversation, &content, parent, true).await?;
            }
            ClientAction::EndConversation { conversation_id } => {
                owned(&state, &claims, &conversation_id).await?;
                self.watching.remove(&conversation_id);
                send(socket, &ServerEvent::ConversationEnded { conversation_id }).await;
            }
            ClientAction::Subscribe { conversation_id, after_seq, generation_id } => {
                owned(&state, &claims, &conversation_id).await?;
                self.watch(conversation_id.clone());
                let target = generation_id.as_deref();
                self.catch_up(socket, &conversation_id, target, after_seq.unwrap_or(0), true).await;
            }
            ClientAction::Stop { generation_id } => {
                if !crate::http::validate::plausible_id(&generation_id)
                    || !state.generations.stop(&generation_id, &claims.sub).await
                {
                    return Err(ApiError::not_found("Generation not found"));
                }
            }
            ClientAction::AnswerToolCall { generation_id, call_id, approved } => {
                if !crate::http::generations::answer_call(
                    &state,
                    &claims.sub,
                    &generation_id,
                    &call_id,
                    approved,
                )
                .await
                {
                    return Err(crate::http::generations::not_waiting());
                }
            }
            ClientAction::Regenerate { message_id } => {
                let message = lookup_message(&state, &claims, &message_id).await?;
                let user_message = match message.role {
                    Role::User => message,
                    _ => match message.parent_id.as_deref() {
                        Some(parent) => lookup_message(&state, &claims, parent).await?,
                        None => {
                            return Err(ApiError::invalid_field(
                                "message_id",
                                "has no user message to answer",
                            ));
                        }
                    },
                };
                let conversation = owned(&state, &claims, &user_message.conversation_id).await?;
                self.watch(conversation.id.clone());
                // A new reply is a new stored message: the same rate and quota as a sent one.
                state.limits.message(&state.db, &claims, 0, false).await?;
                let slot = state.generations.reserve(&claims, &token).await?;
                state.generations.start(slot, &conversation, &user_message).await.map_err(store_error)?;
            }
            ClientAction::EditMessage { message_id, content } => {
                let original = lookup_message(&state, &claims, &message_id).await?;
                if original.role != Role::User {
                    return Err(ApiError::invalid_field("message_id", "only user messages can be edited"));
                }
                let conversation = owned(&state, &claims, &original.conversation_id).await?;
                self.watch(conversation.id.clone());
                post_user_message(
                    &state,
                    &claims,
                    &token,
                    &conversation,
                    &content,
                    Some(original.parent_id.clone()),
                    true,
                )
                .await?;
            }
            ClientAction::Continue { message_id } => {
                let reply = lookup_message(&state, &claims, &message_id).await?;
                let can_continue = matches!(
                    reply.status,
                    MessageStatus::Incomplete | MessageStatus::Cancelled | MessageStatus::Interrupted
                );
                if reply.role != Role::Assistant || !can_continue {
                    return Err(ApiError::invalid_field(
                        "message_id",
                        "only a reply that ended early (incomplete, stopped or interrupted) can be continued",
                    ));
                }
                let conversation = owned(&state, &claims, &reply.conversation_id).await?;
                if state.db.has_children(&conversation.id, &reply.id).await.map_err(store_error)? {
                    return Err(ApiError::invalid_field(
                        "message_id",
                        "has messages after it; only the last reply of a branch can be continued",
                    ));
                }
                self.watch(conversation.id.clone());
                // Continuing grows a stored reply: it counts against the message rate too.
                state.limits.message(&state.db, &claims, 0, false).await?;
                let slot = state.generations.reserve(&claims, &token).await?;
                let resumed =
                    state.generations.resume(slot, &conversation, &reply).await.map_err(store_error)?;
                if resumed.is_none() {
                    return Err(ApiError::new(StatusCode::CONFLICT, "The reply is already being continued"));
                }
            }
        }
        Ok(())
    }

    /// Brings the socket up to date with the generations of a conversation still in memory.
    /// With `announce`, a `subscribed` frame (naming the newest generation) comes first.
    /// `target` is the generation the client already holds `after_seq` deltas of (default: the
    /// newest). Each generation resumes after what this socket already sent; one that ended
    /// before this socket ever saw it is left to REST, except the target.
    pub(super) async fn catch_up(
        &mut self,
        socket: &mut Socket,
        conversation_id: &str,
        target: Option<&str>,
        after_seq: u64,
        announce: bool,
    ) {
        let owner = self.claims().sub.clone();
        let generations = self.state.generations.snapshots_in(conversation_id, &owner).await;
        let since = self.watching.get(conversation_id).copied().unwrap_or(i64::MAX);
        let newest = generations.last();
        if announce {
            let generation = newest.map(|g| g.state());
            send(
                socket,
                &ServerEvent::Subscribed { conversation_id: conversation_id.to_owned(), generation },
            )
            .await;
        }
        // Only a `subscribe` names (or defaults to) a generation to resume; a catch-up after a
        // lag or a gap follows what the socket already follows.
        let target = match announce {
            true => target.map(str::to_owned).or_else(|| newest.map(|g| g.id.clone())),
            false => None,
        };
        for generation in generations {
            let already = self.sent.get(&generation.id).copied();
            let is_target = target.as_deref() == Some(generation.id.as_str());
            let from = match already {
                Some(DONE_SENT) => continue,
                Some(sent) => sent.max(if is_target { after_seq } else { 0 }),
                None if is_target => after_seq,
                // A subscribe does not replay replies that ended before it; a catch-up replays
                // those that started while the socket watched (their events were dropped).
                None if generation.is_done() && (announce || generation.started_ms < since) => continue,
                None => 0,
            };
            let (deltas, last, done) = generation.replay(from);
            for delta in &deltas {
                send(socket, delta).await;
            }
            self.sent.insert(generation.id.clone(), last.max(from));
            if let Some(done) = done {
                send(socket, &done).await;
                self.mark_done(&generation.id);
            }
        }
    }

    pub(super) fn watch(&mut self, conversation_id: String) {
        self.watching.entry(conversation_id).or_insert_with(common::clock::now_millis);
    }

    /// Notes that a generation's end went out, and forgets ended generations whose logs have
    /// expired: the map stays as small as what is still replayable (and still being followed).
    pub(super) fn mark_done(&mut self, generation_id: &str) {
        const REPLAYABLE: Duration = Duration::from_secs(180);
        self.sent.insert(generation_id.to_owned(), DONE_SENT);
        self.done_at.insert(generation_id.to_owned(), tokio::time::Instant::now());
        self.done_at.retain(|_, at| at.elapsed() < REPLAYABLE);
        let done_at = &self.done_at;
        self.sent.retain(|id, sent| *sent != DONE_SENT || done_at.contains_key(id));
    }

    /// Forwards a hub event if this socket should see it, exactly once. With `gaps`, an event
    /// that shows deltas went missing asks for a catch-up first; without, such a delta is left
    /// out (the log does not have it yet either).
    pub(super) async fn forward(&mut self, socket: &mut Socket, event: &Event, gaps: bool) -> Forwarded {
        let relevant = match &**event {
            ServerEvent::ConversationUpdated { .. } | ServerEvent::ConversationDeleted { .. } => true,
            ServerEvent::MessageAccepted { conversation_id, .. }
            | ServerEvent::GenerationStarted { conversation_id, .. }
            | ServerEvent::GenerationQueued { conversation_id, .. } => {
                self.watching.contains_key(conversation_id)
            }
            numbered if numbered.numbered().is_some() => {
                let (conversation_id, generation_id, seq) = event.numbered().expect("a numbered event");
                let (conversation_id, generation_id, seq) =
                    (&conversation_id.to_owned(), generation_id, &seq);
                self.watching.contains_key(conversation_id) && {
                    let last = self.sent.entry(generation_id.to_owned()).or_insert(0);
                    if *last != DONE_SENT && *seq > *last + 1 {
                        if gaps {
                            return Forwarded::Gap(conversation_id.clone());
                        }
                        return Forwarded::Done;
                    }
                    let fresh = *last != DONE_SENT && *seq > *last;
                    if fresh {
                        *last = *seq;
                    }
                    fresh
                }
            }
            ServerEvent::GenerationDone { conversation_id, generation_id, .. } => {
                let sent = self.sent.get(generation_id).copied();
                let fresh = self.watching.contains_key(conversation_id) && sent != Some(DONE_SENT);
                // Another replica's reply this socket followed part of: the deltas before the
                // end may have been missed (an outage); the log has them.
                let remote = self.state.generations.get(generation_id, &self.claims().sub).is_none();
                if fresh && gaps && remote && sent.is_some() {
                    return Forwarded::Gap(conversation_id.clone());
                }
                if fresh {
                    self.mark_done(generation_id);
                }
                fresh
            }
            _ => false,
        };
        if let ServerEvent::ConversationDeleted { conversation_id } = &**event {
            self.watching.remove(conversation_id);
        }
        if !relevant || socket.send(WsMessage::Text(encode(event))).await {
            Forwarded::Done
        } else {
            Forwarded::SocketGone
        }
    }
}
