//! The life of one generation: wait for the conversation's turn, build the context, stream
//! from the provider, save in batches, finish.

use std::sync::Arc;
use std::time::Duration;

use api_types::chat::{FinishReason, MessageStatus, Role as WireRole, ServerEvent, Usage};
use futures_util::StreamExt;
use llm::{ChatMessage, ChatRequest, LlmError, Role, StreamEvent, ToolRound};
use tokio::sync::watch;

use super::calls::run_calls;
use super::tools::Offer;
use super::usage::{Timing, record_use};
use super::{Generation, Generations, LEASE_MS, StopReason};
use crate::convert::message_to_wire;
use crate::store::ReplyEnd;

/// How often streamed text is written to the database.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// How often a silent reply renews its lease.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How often a reply waiting for another replica's reply in its conversation asks again.
const TURN_POLL: Duration = Duration::from_millis(100);
/// Most messages sent to the model as context (newest kept).
const CONTEXT_MESSAGES: usize = 100;

enum Outcome {
    /// The model ended the reply: naturally, or early for this reason.
    Ended(Option<FinishReason>),
    Stopped(StopReason),
    Failed(String),
    /// The server's own bound on a reply (bytes, tokens, time) cut it: kept as `incomplete`
    /// (`length`), with this sentence as its `error`.
    Limited(String),
}

/// Produces the reply and stores how it ended; returns its final status.
pub(super) async fn run(
    generations: &Arc<Generations>,
    generation: &Arc<Generation>,
    lock: Arc<tokio::sync::Mutex<()>>,
    system_prompt: Option<String>,
    mut stopped: watch::Receiver<Option<StopReason>>,
) -> MessageStatus {
    // Saving runs beside the stream, so a slow write never holds back a delta; it starts now,
    // so the lease is renewed while the reply waits for its turn or for the first token.
    let _saver = Saver(tokio::spawn(save_periodically(generations.clone(), generation.clone())));
    let bus = generations.bus();
    let queued = || {
        let event = ServerEvent::GenerationQueued {
            generation_id: generation.id.clone(),
            conversation_id: generation.conversation_id.clone(),
            position: 1,
        };
        bus.record(&generation.meta(), event);
    };
    // Replies in one conversation are answered in the order they started, also across
    // replicas: the place in the shared queue is taken before waiting for this process's lock.
    let shared = bus.cluster();
    let mut first = match shared {
        Some(cluster) => {
            cluster.turn(&generation.conversation_id, &generation.id, generation.started_ms).await
        }
        None => None,
    };
    let mut told = false;
    let _turn = match lock.clone().try_lock_owned() {
        Ok(turn) => turn,
        Err(_) => {
            queued();
            told = true;
            tokio::select! {
                turn = lock.lock_owned() => turn,
                reason = stop_requested(&mut stopped) => {
                    let stopped = Outcome::Stopped(reason);
                    return finish(generations, generation, stopped, Timing::default()).await;
                }
            }
        }
    };
    while let (Some(false), Some(cluster)) = (first, shared) {
        if !std::mem::replace(&mut told, true) {
            queued();
        }
        tokio::select! {
            () = tokio::time::sleep(TURN_POLL) => {}
            reason = stop_requested(&mut stopped) => {
                let stopped = Outcome::Stopped(reason);
                return finish(generations, generation, stopped, Timing::default()).await;
            }
        }
        first = cluster.turn(&generation.conversation_id, &generation.id, generation.started_ms).await;
    }
    let mut timing = Timing::default();
    let outcome = stream_reply(generations, generation, system_prompt, &mut stopped, &mut timing).await;
    finish(generations, generation, outcome, timing).await
}

async fn stream_reply(
    generations: &Generations,
    generation: &Arc<Generation>,
    system_prompt: Option<String>,
    stopped: &mut watch::Receiver<Option<StopReason>>,
    timing: &mut Timing,
) -> Outcome {
    let provider = match generations.registry().provider_for(&generation.model) {
        Ok(provider) => provider,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    timing.provider = Some(provider.name().to_owned());
    // The branch ending at the reply itself: empty for a new reply (and left out), the text so
    // far for a continuation, which the model then carries on.
    let history = match generations
        .db
        .branch(&generation.conversation_id, &generation.message_id, CONTEXT_MESSAGES)
        .await
    {
        Ok(history) => history,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the conversation for a reply");
            return Outcome::Failed("the conversation could not be read".into());
        }
    };
    let mut messages = Vec::with_capacity(history.len() + 1);
    if let Some(prompt) = system_prompt.filter(|p| !p.trim().is_empty()) {
        messages.push(ChatMessage { role: Role::System, content: prompt });
    }
    messages.extend(history.into_iter().filter(|m| !m.content.is_empty()).map(|m| {
        let role = match m.role {
            WireRole::User => Role::User,
            WireRole::Assistant => Role::Assistant,
            WireRole::System => Role::System,
        };
        ChatMessage { role, content: m.content }
    }));
    // Tools, for models that can call them: those of the MCP servers the owner may use.
    let tools = generations.tools();
    let context = generation.call_context(generations);
    let offer = match tools.enabled() && provider.supports_tools() {
        true => tokio::select! {
            offer = Offer::for_owner(&context, generation.mcp_servers.as_deref()) => offer,
            reason = stop_requested(stopped) => return Outcome::Stopped(reason),
        },
        false => Offer::default(),
    };
    let mut rounds: Vec<ToolRound> = Vec::new();
    // The reply's time runs from when the model starts on it (not while it waits in a queue).
    let mut deadline = tokio::time::Instant::now() + generations.limits.max_duration;
    timing.asked = Some(tokio::time::Instant::now());
    loop {
        let round_start = generation.text_len();
        let request = ChatRequest {
            model: generation.model.clone(),
            messages: messages.clone(),
            tools: offer.specs.clone(),
            rounds: rounds.clone(),
            final_answer: !offer.is_empty() && rounds.len() >= tools.max_rounds(),
            ..ChatRequest::default()
        };
        let calls =
            match stream_round(generations, generation, &*provider, request, stopped, &mut deadline, timing)
                .await
            {
                RoundEnd::Over(outcome) => return outcome,
                RoundEnd::Calls(_) if offer.is_empty() => {
                    let reason = "the model asked to call a tool, and none is offered to it".to_owned();
                    return Outcome::Failed(reason);
                }
                // Past the last round the model may call nothing (not every provider honours
                // tool_choice "none"): the reply ends here rather than going round again.
                RoundEnd::Calls(_) if rounds.len() >= tools.max_rounds() => {
                    let limit = format!(
                        "the model kept calling tools past the limit of {} rounds",
                        tools.max_rounds()
                    );
                    return Outcome::Limited(limit);
                }
                RoundEnd::Calls(calls) => calls,
            };
        let (text, _) = generation.text_from(round_start);
        if !text.is_empty() && !text.ends_with('\n') {
            // The next round's text starts a paragraph of its own.
            generation.push_delta(generations.bus(), "\n\n");
        }
        // The reply's time limit counts the model's time: tool calls have their own limits
        // (each call's timeout, the wait for approval).
        let calls_began = tokio::time::Instant::now();
        match run_calls(generations, generation, &offer, &calls, rounds.len(), stopped).await {
            Ok(results) => rounds.push(ToolRound { text, calls, results }),
            Err(reason) => return Outcome::Stopped(reason),
        }
        deadline += calls_began.elapsed();
    }
}

/// How one request to the model ended: the reply is over, or the model calls tools.
enum RoundEnd {
    Over(Outcome),
    Calls(Vec<llm::ToolCall>),
}

/// Streams one request's answer into the reply.
async fn stream_round(
    generations: &Generations,
    generation: &Arc<Generation>,
    provider: &dyn llm::Provider,
    request: ChatRequest,
    stopped: &mut watch::Receiver<Option<StopReason>>,
    deadline: &mut tokio::time::Instant,
    timing: &mut Timing,
) -> RoundEnd {
    let failed = |e: &LlmError| {
        generations.metrics().provider_failed(provider.name(), e);
        RoundEnd::Over(Outcome::Failed(failure_reason(e)))
    };
    let mut stream = tokio::select! {
        started = provider.stream(request) => match started {
            Ok(stream) => stream,
            Err(e) => return failed(&e),
        },
        reason = stop_requested(stopped) => return RoundEnd::Over(Outcome::Stopped(reason)),
    };
    let mut cut_short = None;
    let bus = generations.bus();
    let limits = generations.limits;
    loop {
        tokio::select! {
            biased;
            // Returning drops the stream, which aborts the upstream request.
            reason = stop_requested(stopped) => return RoundEnd::Over(Outcome::Stopped(reason)),
            () = tokio::time::sleep_until(*deadline) => {
                let secs = limits.max_duration.as_secs();
                let unit = if secs == 1 { "second" } else { "seconds" };
                let limit = format!("the reply reached the time limit of {secs} {unit}");
                return RoundEnd::Over(Outcome::Limited(limit));
            }
            item = stream.next() => match item {
                Some(Ok(StreamEvent::Delta(text))) => {
                    timing.text_arrived();
                    if !generation.push_delta_within(bus, &text, limits.max_bytes) {
                        let limit = format!("the reply reached the size limit of {} bytes", limits.max_bytes);
                        return RoundEnd::Over(Outcome::Limited(limit));
                    }
                }
                Some(Ok(StreamEvent::Usage(u))) => {
                    // Each round is a request of its own: the reply's usage is their sum.
                    let sum = timing.usage.get_or_insert(llm::Usage::default());
                    sum.prompt_tokens = sum.prompt_tokens.saturating_add(u.prompt_tokens);
                    sum.completion_tokens = sum.completion_tokens.saturating_add(u.completion_tokens);
                }
                Some(Ok(StreamEvent::Finish(reason))) => cut_short = Some(match reason {
                    llm::FinishReason::Length => FinishReason::Length,
                    llm::FinishReason::ContentFilter => FinishReason::ContentFilter,
                }),
                Some(Ok(StreamEvent::Queued(position))) => {
                    *deadline = tokio::time::Instant::now() + limits.max_duration;
                    bus.record(
                        &generation.meta(),
                        ServerEvent::GenerationQueued {
                            generation_id: generation.id.clone(),
                            conversation_id: generation.conversation_id.clone(),
                            position,
                        },
                    );
                }
                Some(Ok(StreamEvent::ToolCalls(calls))) => return RoundEnd::Calls(calls),
                Some(Err(e)) => return failed(&e),
                None => return RoundEnd::Over(Outcome::Ended(cut_short)),
            },
        }
    }
}

/// Stores the text streamed so far twice a second, appending only what is new, and renews
/// the lease of a silent reply.
async fn save_periodically(generations: Arc<Generations>, generation: Arc<Generation>) {
    let db = &generations.db;
    // What the stored text holds: the prefix (stored before the generation started) and this
    // generation's text up to `saved` bytes, `saved_chars` characters in all.
    let mut saved = 0;
    let mut saved_chars = generation.prefix.chars().count();
    let mut saved_at = tokio::time::Instant::now();
    let mut renewed_at = saved_at;
    let mut tick = tokio::time::interval(SAVE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (new_text, end) = generation.text_from(saved);
        if new_text.is_empty() && saved_at.elapsed() < HEARTBEAT {
            continue;
        }
        let now = common::clock::now_millis();
        let appended =
            db.append_partial(&generation.message_id, &new_text, saved_chars, now, now + LEASE_MS).await;
        let stored = match appended {
            Ok(true) => Ok(saved_chars + new_text.chars().count()),
            // The stored text is not what this saver wrote (a failed write that did land, or a
            // row changed elsewhere): write it whole once.
            Ok(false) => {
                let mut whole = generation.prefix.clone();
                whole.push_str(&generation.text_from(0).0[..end]);
                db.save_partial(&generation.message_id, &whole, now, now + LEASE_MS)
                    .await
                    .map(|()| whole.chars().count())
            }
            Err(e) => Err(e),
        };
        match stored {
            Ok(chars) => {
                if renewed_at.elapsed() >= HEARTBEAT {
                    generations.renew(&generation);
                    renewed_at = tokio::time::Instant::now();
                }
                saved = end;
                saved_chars = chars;
                saved_at = tokio::time::Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "cannot save a partial reply"),
        }
    }
}

/// Stops the saver when the stream ends, however it ends.
struct Saver(tokio::task::JoinHandle<()>);

impl Drop for Saver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves when someone asks the generation to stop.
pub(super) async fn stop_requested(stopped: &mut watch::Receiver<Option<StopReason>>) -> StopReason {
    let reason = stopped.wait_for(Option::is_some).await.ok().map(|r| r.unwrap_or(StopReason::User));
    match reason {
        Some(reason) => reason,
        None => std::future::pending().await,
    }
}

fn failure_reason(error: &LlmError) -> String {
    error.to_string()
}

async fn finish(
    generations: &Generations,
    generation: &Generation,
    outcome: Outcome,
    timing: Timing,
) -> MessageStatus {
    let usage = timing.usage;
    let (status, reason, finish_reason) = match &outcome {
        Outcome::Ended(None) => (MessageStatus::Complete, None, None),
        Outcome::Ended(Some(cut)) => (MessageStatus::Incomplete, None, Some(*cut)),
        Outcome::Stopped(StopReason::User) => (MessageStatus::Cancelled, None, None),
        Outcome::Stopped(StopReason::Shutdown) => {
            (MessageStatus::Interrupted, Some("the server restarted".to_owned()), None)
        }
        Outcome::Failed(reason) => (MessageStatus::Failed, Some(reason.clone()), None),
        Outcome::Limited(reason) => {
            (MessageStatus::Incomplete, Some(reason.clone()), Some(FinishReason::Length))
        }
    };
    let text = generation.text();
    let now = common::clock::now_millis();
    let stored_usage = usage.map(|u| (i64::from(u.prompt_tokens), i64::from(u.completion_tokens)));
    let calls = generation.calls();
    let stored_calls =
        (!calls.is_empty()).then(|| serde_json::to_string(&calls).expect("tool calls serialise"));
    let end = ReplyEnd {
        status,
        content: &text,
        usage: stored_usage,
        error: reason.as_deref(),
        finish_reason,
        tool_calls: stored_calls.as_deref(),
    };
    if let Err(e) = generations.db.finish_message(&generation.message_id, &end, now).await {
        tracing::error!(error = %e, "cannot store the end of a reply");
    }
    let wire_usage =
        usage.map(|u| Usage { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens });
    let message = match generations.db.message(&generation.message_id, &generation.owner_id).await {
        Ok(Some(record)) => message_to_wire(&record),
        _ => api_types::chat::Message {
            id: generation.message_id.clone(),
            conversation_id: generation.conversation_id.clone(),
            role: WireRole::Assistant,
            content: text,
            status,
            created_at: common::clock::rfc3339_millis(now),
            position: generation.position,
            parent_id: generation.parent_id.clone(),
            model: Some(generation.model.clone()),
            usage: wire_usage,
            error: reason.clone(),
            finish_reason,
            tool_calls: calls,
        },
    };
    record_use(generations, generation, status, &timing, now).await;
    generation.finish(
        generations.bus(),
        ServerEvent::GenerationDone {
            generation_id: generation.id.clone(),
            conversation_id: generation.conversation_id.clone(),
            status,
            message,
            usage: wire_usage,
            reason,
        },
    );
    status
}
