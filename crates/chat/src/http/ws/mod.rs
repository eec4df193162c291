//! The three WebSocket endpoints and the session that serves the protocol of ws-protocol.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use api_types::chat::{ClientAction, ServerEvent};
use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use common::http::{ApiError, ApiResult, ConnectionSlot, Query};
use common::token::AccessClaims;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::conversations::owned;
use crate::auth::authenticate;
use crate::state::AppState;

mod actions;
mod frames;
mod socket;

use frames::parse_action;
pub use socket::{SlotKey, SocketCounts, SocketSlot};
use socket::{Socket, close, refuse, send};

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

async fn token_claims(state: &AppState, token: Option<&str>) -> ApiResult<(AccessClaims, String)> {
    let token =
        token.filter(|t| !t.is_empty()).ok_or_else(|| ApiError::unauthorized("Not authenticated", false))?;
    Ok((authenticate(state, token).await?, token.to_owned()))
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
    let signed = token_claims(&state, query.token.as_deref()).await?;
    if !signed.0.preferred_username.eq_ignore_ascii_case(&username) {
        return Err(ApiError::forbidden("The token belongs to another user"));
    }
    Ok(upgrade(ws, Session::new(state, Some(signed), None), (peer, headers), connection))
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
    let signed = token_claims(&state, query.token.as_deref()).await?;
    owned(&state, &signed.0, &conversation_id).await?;
    Ok(upgrade(ws, Session::new(state, Some(signed), Some(conversation_id)), (peer, headers), connection))
}

struct Session {
    state: AppState,
    claims: Option<AccessClaims>,
    /// The access token the claims came from (exchanged for MCP servers' tokens, never sent).
    token: String,
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
    fn new(
        state: AppState,
        claims: Option<(AccessClaims, String)>,
        default_conversation: Option<String>,
    ) -> Self {
        let (claims, token) = claims.map_or((None, String::new()), |(c, t)| (Some(c), t));
        let now = common::clock::now_millis();
        let watching = default_conversation.iter().map(|id| (id.clone(), now)).collect();
        Self {
            state,
            claims,
            token,
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
        self.token = token.to_owned();
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
                    self.token = token.clone();
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

    async fn error(&self, socket: &mut Socket, code: &str, detail: &str) {
        send(socket, &ServerEvent::Error { code: code.into(), detail: detail.into() }).await;
    }
}
