//! The three WebSocket endpoints and the session that serves the protocol of ws-protocol.md.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::chat::{ClientAction, MessageStatus, Role, ServerEvent};
use axum::extract::ws::{
    CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code,
};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use common::http::{ApiError, ApiResult, ConnectionSlot, Query};
use common::token::AccessClaims;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::conversations::{create_for, owned};
use super::messages::{lookup_message, post_user_message, reply_parent, store_error};
use crate::auth::authenticate;
use crate::convert::conversation_to_wire;
use crate::generation::Event;
use crate::state::AppState;

/// Largest frame the protocol accepts; larger ones get an `error` frame.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Larger frames (and messages) than this close the socket (protocol abuse); a frame is refused
/// from its header, before its payload is read.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// Largest first frame of `/ws/chat` (the `authenticate` frame; a token is ~1 KiB).
const MAX_AUTH_FRAME_BYTES: usize = 16 * 1024;
/// WebSocket close code for a frame larger than the limit (RFC 6455 §7.4.1).
const MESSAGE_TOO_BIG: u16 = 1009;
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
const PING_EVERY: Duration = Duration::from_secs(30);
/// Frames per second a socket may send (with a burst of twice that).
const FRAMES_PER_SECOND: f64 = 20.0;
const REVOCATION_CHECK: Duration = Duration::from_secs(2);
/// In `sent`: the generation's `generation_done` has gone out.
const DONE_SENT: u64 = u64::MAX;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws/chat", get(anonymous))
        .route("/ws/chat/{username}", get(for_user))
        .route("/ws/{conversation_id}", get(for_conversation))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn token_claims(state: &AppState, token: Option<&str>) -> ApiResult<AccessClaims> {
    let token =
        token.filter(|t| !t.is_empty()).ok_or_else(|| ApiError::unauthorized("Not authenticated", false))?;
    authenticate(state, token).await
}

/// `connection` is the connection's place under the port's cap, kept while the socket is open
/// (absent when the router runs without `common::http::serve`).
fn upgrade(
    ws: WebSocketUpgrade,
    mut session: Session,
    (peer, headers): (SocketAddr, HeaderMap),
    connection: Option<Extension<ConnectionSlot>>,
) -> Response {
    // Every socket counts against its client's address cap from the handshake on,
    // authenticated or not (behind a trusted proxy, the address it forwards); one over the cap
    // is told so in a frame and closed.
    let (client, _) = session.state.proxies.client_ip(peer.ip(), &headers);
    let address = SlotKey::Address(common::http::address_key(client));
    let cap = session.state.config.ws_max_sockets_per_ip;
    let address_slot = session.state.sockets.take(address, cap);
    // Small buffers: most sockets sit idle, and tungstenite's defaults (128 KiB each way)
    // would cost more than the rest of a session together. Frames go out as they are made.
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |ws| async move {
            let _connection = connection;
            let mut socket = Socket::new(ws, session.state.config.ws_send_timeout_secs);
            match address_slot {
                Some(slot) => {
                    session.slots.push(slot);
                    session.run(socket).await;
                }
                None => {
                    let detail = "Too many sockets from this address; close some and retry";
                    refuse(&mut socket, detail, "too many sockets from this address").await;
                }
            }
        })
}

/// `/ws/chat`: authenticate with the first frame.
async fn anonymous(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectionSlot>>,
) -> Response {
    upgrade(ws, Session::new(state, None, None), (peer, headers), connection)
}

/// `/ws/chat/{username}?token=…`: the seed's action protocol; the token must be that user's.
async fn for_user(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectionSlot>>,
    Path(username): Path<String>,
    Query(query): Query<TokenQuery>,
) -> ApiResult<Response> {
    let claims = token_claims(&state, query.token.as_deref()).await?;
    if !claims.preferred_username.eq_ignore_ascii_case(&username) {
        return Err(ApiError::forbidden("The token belongs to another user"));
    }
    Ok(upgrade(ws, Session::new(state, Some(claims), None), (peer, headers), connection))
}

/// `/ws/{conversation_id}?token=…`: what the seed's web UI uses; watches that conversation.
async fn for_conversation(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectionSlot>>,
    Path(conversation_id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> ApiResult<Response> {
    let claims = token_claims(&state, query.token.as_deref()).await?;
    owned(&state, &claims, &conversation_id).await?;
    Ok(upgrade(ws, Session::new(state, Some(claims), Some(conversation_id)), (peer, headers), connection))
}

struct Session {
    state: AppState,
    claims: Option<AccessClaims>,
    /// The conversation of `/ws/{conversation_id}`, for bare seed frames.
    default_conversation: Option<String>,
    /// The conversations this socket watches, each with when it began to (ms): a catch-up
    /// after a lag replays the replies that started since, finished ones included.
    watching: HashMap<String, i64>,
    /// Per generation: the last `seq` this socket has sent (`u64::MAX` once done was sent).
    sent: HashMap<String, u64>,
    /// When each generation's `generation_done` went out: its entry in `sent` is kept while
    /// its log can still be replayed (on any replica), so a later catch-up skips it.
    done_at: HashMap<String, tokio::time::Instant>,
    /// Token bucket for flood control.
    allowance: f64,
    last_frame: tokio::time::Instant,
    /// This socket's places under the per-address and per-user caps, given back when it ends.
    slots: Vec<SocketSlot>,
}

enum Flow {
    Continue,
    Close(u16, &'static str),
}

/// What became of an event for a socket.
enum Forwarded {
    /// Sent, or not for this socket.
    Done,
    /// A delta after a gap: the socket must catch up on this conversation first.
    Gap(String),
    SocketGone,
}

impl Session {
    fn new(state: AppState, claims: Option<AccessClaims>, default_conversation: Option<String>) -> Self {
        let now = common::clock::now_millis();
        let watching = default_conversation.iter().map(|id| (id.clone(), now)).collect();
        Self {
            state,
            claims,
            default_conversation,
            watching,
            sent: HashMap::new(),
            done_at: HashMap::new(),
            allowance: FRAMES_PER_SECOND * 2.0,
            last_frame: tokio::time::Instant::now(),
            slots: Vec::new(),
        }
    }

    async fn run(mut self, mut socket: Socket) {
        if self.claims.is_none() {
            match self.authenticate_first(&mut socket).await {
                Ok(()) => {}
                Err(reason) => {
                    close(&mut socket, close_code::POLICY, reason).await;
                    return;
                }
            }
        }
        let owner = self.claims.as_ref().map(|c| c.sub.clone()).unwrap_or_default();
        match self.state.sockets.take(SlotKey::User(owner.clone()), self.state.config.ws_max_sockets_per_user)
        {
            Some(slot) => self.slots.push(slot),
            None => {
                let detail = "Too many open sockets for this user; close other tabs or devices and retry";
                refuse(&mut socket, detail, "too many sockets for this user").await;
                return;
            }
        }
        let mut events = self.state.generations.bus().subscribe(&owner).await;
        if let Some(conversation_id) = self.default_conversation.clone() {
            self.catch_up(&mut socket, &conversation_id, None, 0, true).await;
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut revocation_check = tokio::time::interval(REVOCATION_CHECK);
        let mut alive = true;
        loop {
            if socket.dead {
                // The client stopped taking frames: drop it; it resumes with `after_seq`.
                break;
            }
            tokio::select! {
                incoming = socket.ws.recv() => {
                    let flow = match incoming {
                        Some(Ok(WsMessage::Text(text))) => self.on_text(&mut socket, text.as_str()).await,
                        Some(Ok(WsMessage::Binary(_))) => {
                            self.error(&mut socket, "invalid_frame", "Binary frames are not supported; send JSON text").await;
                            Flow::Continue
                        }
                        Some(Ok(WsMessage::Pong(_) | WsMessage::Ping(_))) => Flow::Continue,
                        Some(Err(error)) if error.to_string().contains("too long") => {
                            Flow::Close(MESSAGE_TOO_BIG, "frame too large")
                        }
                        Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                    };
                    alive = true;
                    if let Flow::Close(code, reason) = flow {
                        close(&mut socket, code, reason).await;
                        break;
                    }
                }
                event = events.recv() => match event {
                    Ok(event) => match self.forward(&mut socket, &event, true).await {
                        Forwarded::Done => {}
                        Forwarded::Gap(conversation_id) => {
                            // Deltas from another replica went missing (its writes or this
                            // subscription were interrupted): read them from the log, then
                            // the event itself unless the log brought it.
                            self.catch_up(&mut socket, &conversation_id, None, 0, false).await;
                            if let Forwarded::SocketGone = self.forward(&mut socket, &event, false).await {
                                break;
                            }
                        }
                        Forwarded::SocketGone => break,
                    },
                    Err(RecvError::Lagged(_)) => {
                        // Fell behind: catch up from the generations' own records, and tell the
                        // client to read again what only REST has (titles, deletions, messages).
                        for conversation_id in self.watching.keys().cloned().collect::<Vec<_>>() {
                            self.catch_up(&mut socket, &conversation_id, None, 0, false).await;
                        }
                        send(&mut socket, &ServerEvent::Resync).await;
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = revocation_check.tick() => {
                    // A socket lives longer than a request: its token may be revoked or expire
                    // meanwhile (clients renew it with `authenticate`). Without a recent read
                    // of the revocation feed that cannot be told, so the socket closes as a
                    // request would fail (closed): "try again later", and clients reconnect.
                    let stale = self.state.revocations.staleness();
                    if stale.as_secs() > self.state.config.revocations_max_stale_secs {
                        close(&mut socket, close_code::AGAIN, "cannot check sign-ins right now").await;
                        break;
                    }
                    if self.state.revocations.is_revoked(self.claims()) {
                        close(&mut socket, close_code::POLICY, "token revoked").await;
                        break;
                    }
                    let expired = self.claims().exp + common::token::LEEWAY_SECS as i64 <= common::clock::now();
                    if expired {
                        close(&mut socket, close_code::POLICY, "token expired").await;
                        break;
                    }
                }
                _ = ping.tick() => {
                    if !alive {
                        break; // no sign of life for a whole interval: a dead peer
                    }
                    alive = false;
                    if !socket.send(WsMessage::Ping(Default::default())).await {
                        break;
                    }
                }
            }
        }
    }

    /// `/ws/chat` requires `{"action":"authenticate","token":…}` (or with `data`) first.
    async fn authenticate_first(&mut self, socket: &mut Socket) -> Result<(), &'static str> {
        let first = tokio::time::timeout(AUTH_TIMEOUT, socket.ws.recv())
            .await
            .map_err(|_| "authentication timed out")?;
        let Some(Ok(WsMessage::Text(text))) = first else {
            return Err("authenticate first");
        };
        if text.len() > MAX_AUTH_FRAME_BYTES {
            return Err("authenticate first, in a frame of at most 16 KiB");
        }
        let value: serde_json::Value =
            serde_json::from_str(text.as_str()).map_err(|_| "authenticate first")?;
        if value["action"] != "authenticate" {
            return Err("authenticate first");
        }
        let token = value["token"]
            .as_str()
            .or_else(|| value["data"]["token"].as_str())
            .ok_or("authenticate first")?;
        let claims = authenticate(&self.state, token).await.map_err(|_| "invalid token")?;
        let username = claims.preferred_username.clone();
        self.claims = Some(claims);
        send(socket, &ServerEvent::Authenticated { username }).await;
        Ok(())
    }

    fn claims(&self) -> &AccessClaims {
        self.claims.as_ref().expect("sessions are authenticated before serving frames")
    }

    fn over_rate(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let elapsed = now.duration_since(self.last_frame).as_secs_f64();
        self.last_frame = now;
        self.allowance = (self.allowance + elapsed * FRAMES_PER_SECOND).min(FRAMES_PER_SECOND * 2.0) - 1.0;
        self.allowance < 0.0
    }

    async fn on_text(&mut self, socket: &mut Socket, text: &str) -> Flow {
        if self.over_rate() {
            if self.allowance < -FRAMES_PER_SECOND * 10.0 {
                return Flow::Close(close_code::POLICY, "too many frames");
            }
            self.error(socket, "rate_limited", "Too many frames; slow down").await;
            return Flow::Continue;
        }
        if text.len() > MAX_FRAME_BYTES {
            self.error(socket, "too_large", "The frame is larger than 64 KiB").await;
            return Flow::Continue;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            self.error(socket, "invalid_json", "The frame is not valid JSON").await;
            return Flow::Continue;
        };
        let action = match parse_action(value, self.default_conversation.as_deref()) {
            Ok(action) => action,
            Err(detail) => {
                self.error(socket, "invalid_frame", &detail).await;
                return Flow::Continue;
            }
        };
        if let ClientAction::Authenticate { token } = &action {
            // A long-lived socket renews its token; it must stay the same user.
            return match authenticate(&self.state, token).await {
                Ok(claims) if claims.sub == self.claims().sub => {
                    let username = claims.preferred_username.clone();
                    self.claims = Some(claims);
                    send(socket, &ServerEvent::Authenticated { username }).await;
                    Flow::Continue
                }
                _ => Flow::Close(close_code::POLICY, "invalid token"),
            };
        }
        if let Err(error) = self.handle(socket, action).await {
            let code = match error.status() {
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
                StatusCode::FORBIDDEN => "forbidden",
                StatusCode::TOO_MANY_REQUESTS => "rate_limited",
                StatusCode::CONFLICT => "conflict",
                _ => "error",
            };
            self.error(socket, code, error.detail()).await;
        }
        Flow::Continue
    }

    async fn handle(&mut self, socket: &mut Socket, action: ClientAction) -> ApiResult<()> {
        let claims = self.claims().clone();
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
                post_user_message(&state, &claims, &conversation, &content, parent, true).await?;
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
                if !super::validate::plausible_id(&generation_id)
                    || !state.generations.stop(&generation_id, &claims.sub).await
                {
                    return Err(ApiError::not_found("Generation not found"));
                }
            }
            ClientAction::AnswerToolCall { generation_id, call_id, approved } => {
                if !super::generations::answer_call(&state, &claims.sub, &generation_id, &call_id, approved)
                    .await
                {
                    return Err(super::generations::not_waiting());
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
                let slot = state.generations.reserve(&claims).await?;
                state
                    .generations
                    .start(slot, &conversation, &user_message)
                    .await
                    .map_err(super::messages::store_error)?;
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
                let slot = state.generations.reserve(&claims).await?;
                let resumed = state
                    .generations
                    .resume(slot, &conversation, &reply)
                    .await
                    .map_err(super::messages::store_error)?;
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
    async fn catch_up(
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

    fn watch(&mut self, conversation_id: String) {
        self.watching.entry(conversation_id).or_insert_with(common::clock::now_millis);
    }

    /// Notes that a generation's end went out, and forgets ended generations whose logs have
    /// expired: the map stays as small as what is still replayable (and still being followed).
    fn mark_done(&mut self, generation_id: &str) {
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
    async fn forward(&mut self, socket: &mut Socket, event: &Event, gaps: bool) -> Forwarded {
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

    async fn error(&self, socket: &mut Socket, code: &str, detail: &str) {
        send(socket, &ServerEvent::Error { code: code.into(), detail: detail.into() }).await;
    }
}

fn encode(event: &ServerEvent) -> Utf8Bytes {
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into()).into()
}

async fn send(socket: &mut Socket, event: &ServerEvent) {
    socket.send(WsMessage::Text(encode(event))).await;
}

async fn close(socket: &mut Socket, code: u16, reason: &'static str) {
    socket.send(WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

/// Tells a socket over a cap why, in an `error` frame and the close reason.
async fn refuse(socket: &mut Socket, detail: &str, reason: &'static str) {
    send(socket, &ServerEvent::Error { code: "too_many_sockets".into(), detail: detail.into() }).await;
    close(socket, close_code::POLICY, reason).await;
}

/// A client's socket whose writes have a deadline: a client that does not take a frame within
/// `chat.ws_send_timeout_secs` (it stopped reading, or its network did) is dropped, and the
/// session ends; the client resumes with `after_seq` when it reconnects.
struct Socket {
    ws: WebSocket,
    deadline: Duration,
    dead: bool,
}

impl Socket {
    fn new(ws: WebSocket, deadline_secs: u64) -> Self {
        Self { ws, deadline: Duration::from_secs(deadline_secs), dead: false }
    }

    /// Sends a frame; false (and the socket is dead) when it failed or missed the deadline.
    async fn send(&mut self, message: WsMessage) -> bool {
        if self.dead {
            return false;
        }
        let sent = tokio::time::timeout(self.deadline, self.ws.send(message)).await;
        self.dead = !matches!(sent, Ok(Ok(())));
        !self.dead
    }
}

/// What a socket cap counts by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SlotKey {
    User(String),
    Address(IpAddr),
}

/// Open sockets per user and per address.
#[derive(Default)]
pub struct SocketCounts {
    open: Mutex<HashMap<SlotKey, usize>>,
}

impl SocketCounts {
    /// A place for one more socket of `key`, unless it has `cap` already (0: no cap).
    pub fn take(self: &Arc<Self>, key: SlotKey, cap: usize) -> Option<SocketSlot> {
        let mut open = self.open.lock().expect("socket counts poisoned");
        let count = open.entry(key.clone()).or_default();
        if cap > 0 && *count >= cap {
            if *count == 0 {
                open.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(SocketSlot { counts: self.clone(), key })
    }
}

/// One socket's place under a cap; given back when dropped.
pub struct SocketSlot {
    counts: Arc<SocketCounts>,
    key: SlotKey,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().expect("socket counts poisoned");
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Longest `detail` of an `invalid_frame` error (serde's message can quote the client's input).
const MAX_FRAME_ERROR_CHARS: usize = 200;

/// The action of a frame; bare `{"content": …}` frames on `/ws/{id}` (`default_conversation`)
/// are messages to it. An error is a sentence for the client, at most 200 characters.
fn parse_action(
    value: serde_json::Value,
    default_conversation: Option<&str>,
) -> Result<ClientAction, String> {
    if value.get("action").is_none()
        && let Some(conversation_id) = default_conversation
    {
        let content = value.get("content").or_else(|| value.get("message")).and_then(|c| c.as_str());
        return content
            .map(|c| ClientAction::SendMessage {
                conversation_id: conversation_id.to_owned(),
                content: c.to_owned(),
                parent_id: None,
            })
            .ok_or_else(|| "A frame needs an \"action\" (or, here, a \"content\")".to_owned());
    }
    // `ping` carries no data; accept it with or without an empty `data`.
    if value["action"] == "ping" {
        return Ok(ClientAction::Ping);
    }
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        if message.contains("unknown variant") {
            "Unknown action".to_owned()
        } else {
            let reason = message.split(" at line").next().unwrap_or("malformed");
            let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
            let mut detail = format!("Invalid frame: {reason}");
            if detail.chars().count() > MAX_FRAME_ERROR_CHARS {
                detail = detail.chars().take(MAX_FRAME_ERROR_CHARS - 1).collect::<String>() + "…";
            }
            detail
        }
    })
}

#[cfg(test)]
mod frame_properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{MAX_FRAME_ERROR_CHARS, parse_action};

    const ACTIONS: &[&str] = &[
        "authenticate",
        "ping",
        "start_conversation",
        "send_message",
        "end_conversation",
        "subscribe",
        "stop",
        "regenerate",
        "edit_message",
        "continue",
    ];

    /// Any JSON value, a few levels deep.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,30}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map(".{0,300}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Frames that look like client actions: a known (or unknown) action with any data.
    fn frame() -> impl Strategy<Value = Value> {
        let action = prop_oneof![proptest::sample::select(ACTIONS).prop_map(str::to_owned), ".{0,20}"];
        prop_oneof![
            (action, json_value()).prop_map(|(action, data)| json!({"action": action, "data": data})),
            json_value(),
        ]
    }

    fn check(value: Value) -> Result<(), TestCaseError> {
        for default in [None, Some("c1")] {
            if let Err(detail) = parse_action(value.clone(), default) {
                prop_assert!(
                    !detail.is_empty() && detail.chars().count() <= MAX_FRAME_ERROR_CHARS,
                    "{detail:?}"
                );
                prop_assert!(!detail.chars().any(char::is_control), "{detail:?}");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any frame is an action or a short, printable error sentence; never a panic.
        #[test]
        fn any_frame_is_an_action_or_a_short_error(value in frame()) {
            check(value)?;
        }

        /// Any text that is JSON at all, the same.
        #[test]
        fn any_json_text_is_an_action_or_a_short_error(text in ".{0,200}") {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                check(value)?;
            }
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let unknown = parse_action(json!({"action": "launch_missiles"}), None).unwrap_err();
        assert_eq!(unknown, "Unknown action");
        let missing = parse_action(json!({"action": "send_message", "data": {}}), None).unwrap_err();
        assert!(missing.starts_with("Invalid frame: missing field"), "{missing}");
        let long = "k".repeat(5_000);
        let detail = parse_action(
            json!({"action": "subscribe", "data": {"conversation_id": "c", "after_seq": long}}),
            None,
        )
        .unwrap_err();
        assert!(detail.chars().count() <= MAX_FRAME_ERROR_CHARS, "{detail}");
        let bare = parse_action(json!({"text": "hi"}), Some("c1")).unwrap_err();
        assert_eq!(bare, "A frame needs an \"action\" (or, here, a \"content\")");
    }
}
