//! The life of one generation: wait for the conversation's turn, build the context, stream
//! from the provider, save in batches, finish.

use std::sync::Arc;
use std::time::Duration;

use api_types::chat::{FinishReason, MessageStatus, Role as WireRole, ServerEvent, Usage};
use futures_util::StreamExt;
use llm::{ChatMessage, ChatRequest, LlmError, Role, StreamEvent};
use tokio::sync::watch;

use super::{Generation, Generations, LEASE_MS, StopReason};
use crate::convert::message_to_wire;
use crate::store::ReplyEnd;

/// How often streamed text is written to the database.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// How often a silent reply renews its lease.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Most messages sent to the model as context (newest kept).
const CONTEXT_MESSAGES: usize = 100;

enum Outcome {
    /// The model ended the reply: naturally, or early for this reason.
    Ended(Option<FinishReason>),
    Stopped(StopReason),
    Failed(String),
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
    let _saver = Saver(tokio::spawn(save_periodically(generations.db.clone(), generation.clone())));
    let hub = generations.hub();
    // Replies in one conversation are answered in order; say so while waiting.
    let _turn = match lock.clone().try_lock_owned() {
        Ok(turn) => turn,
        Err(_) => {
            hub.publish(
                &generation.owner_id,
                ServerEvent::GenerationQueued {
                    generation_id: generation.id.clone(),
                    conversation_id: generation.conversation_id.clone(),
                    position: 1,
                },
            );
            tokio::select! {
                turn = lock.lock_owned() => turn,
                reason = stop_requested(&mut stopped) => {
                    return finish(generations, generation, Outcome::Stopped(reason), None).await;
                }
            }
        }
    };
    let (outcome, usage) = stream_reply(generations, generation, system_prompt, &mut stopped).await;
    finish(generations, generation, outcome, usage).await
}

async fn stream_reply(
    generations: &Generations,
    generation: &Arc<Generation>,
    system_prompt: Option<String>,
    stopped: &mut watch::Receiver<Option<StopReason>>,
) -> (Outcome, Option<llm::Usage>) {
    let provider = match generations.registry().provider_for(&generation.model) {
        Ok(provider) => provider,
        Err(e) => return (Outcome::Failed(e.to_string()), None),
    };
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
            return (Outcome::Failed("the conversation could not be read".into()), None);
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
    let request =
        ChatRequest { model: generation.model.clone(), messages, max_tokens: None, temperature: None };

    let mut stream = tokio::select! {
        started = provider.stream(request) => match started {
            Ok(stream) => stream,
            Err(e) => return (Outcome::Failed(e.to_string()), None),
        },
        reason = stop_requested(stopped) => return (Outcome::Stopped(reason), None),
    };
    let mut usage = None;
    let mut cut_short = None;
    let hub = generations.hub();
    loop {
        tokio::select! {
            biased;
            // Returning drops the stream, which aborts the upstream request.
            reason = stop_requested(stopped) => return (Outcome::Stopped(reason), usage),
            item = stream.next() => match item {
                Some(Ok(StreamEvent::Delta(text))) => generation.push_delta(hub, &text),
                Some(Ok(StreamEvent::Usage(u))) => usage = Some(u),
                Some(Ok(StreamEvent::Finish(reason))) => cut_short = Some(match reason {
                    llm::FinishReason::Length => FinishReason::Length,
                    llm::FinishReason::ContentFilter => FinishReason::ContentFilter,
                }),
                Some(Ok(StreamEvent::Queued(position))) => hub.publish(
                    &generation.owner_id,
                    ServerEvent::GenerationQueued {
                        generation_id: generation.id.clone(),
                        conversation_id: generation.conversation_id.clone(),
                        position,
                    },
                ),
                Some(Err(e)) => return (Outcome::Failed(failure_reason(&e)), usage),
                None => return (Outcome::Ended(cut_short), usage),
            },
        }
    }
}

/// Stores the text streamed so far twice a second, and renews the lease of a silent reply.
async fn save_periodically(db: crate::store::Db, generation: Arc<Generation>) {
    let mut saved_len = 0;
    let mut saved_at = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(SAVE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let text = generation.text();
        if text.len() != saved_len || saved_at.elapsed() >= HEARTBEAT {
            let now = common::clock::now_millis();
            if let Err(e) = db.save_partial(&generation.message_id, &text, now, now + LEASE_MS).await {
                tracing::warn!(error = %e, "cannot save a partial reply");
            }
            saved_len = text.len();
            saved_at = tokio::time::Instant::now();
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
async fn stop_requested(stopped: &mut watch::Receiver<Option<StopReason>>) -> StopReason {
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
    usage: Option<llm::Usage>,
) -> MessageStatus {
    let (status, reason, finish_reason) = match &outcome {
        Outcome::Ended(None) => (MessageStatus::Complete, None, None),
        Outcome::Ended(Some(cut)) => (MessageStatus::Incomplete, None, Some(*cut)),
        Outcome::Stopped(StopReason::User) => (MessageStatus::Cancelled, None, None),
        Outcome::Stopped(StopReason::Shutdown) => {
            (MessageStatus::Interrupted, Some("the server restarted".to_owned()), None)
        }
        Outcome::Failed(reason) => (MessageStatus::Failed, Some(reason.clone()), None),
    };
    let text = generation.text();
    let now = common::clock::now_millis();
    let stored_usage = usage.map(|u| (i64::from(u.prompt_tokens), i64::from(u.completion_tokens)));
    let end =
        ReplyEnd { status, content: &text, usage: stored_usage, error: reason.as_deref(), finish_reason };
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
        },
    };
    generation.finish(
        generations.hub(),
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
