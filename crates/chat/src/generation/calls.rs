//! A round's tool calls: announced, approved when the owner asked to be asked, run side by
//! side with their progress shown, ended, audited.

use std::sync::Arc;
use std::time::Duration;

use api_types::chat::ServerEvent;
use api_types::mcp::{ToolApproval, ToolCall as WireCall, ToolProgress};
use llm::ToolResult;
use tokio::sync::watch;

use super::run::stop_requested;
use super::tools::{Offer, unapproved};
use super::{Generation, Generations, StopReason};
use crate::tools::mcp::CallProgress;

/// Runs the model's calls side by side, each announced (`tool_call_started`), changed
/// (`tool_call_updated`: approved, progress) and ended (`tool_call_done`) in the reply's
/// numbered events; their results for the next round. A call of a tool the owner asked to
/// approve waits for their answer first. A stop cancels the calls still running (the server is
/// told) and ends them as stopped.
pub(super) async fn run_calls(
    generations: &Generations,
    generation: &Arc<Generation>,
    offer: &Offer,
    calls: &[llm::ToolCall],
    round: usize,
    stopped: &mut watch::Receiver<Option<StopReason>>,
) -> Result<Vec<ToolResult>, StopReason> {
    let bus = generations.bus();
    let started = |seq, call| ServerEvent::ToolCallStarted {
        generation_id: generation.id.clone(),
        conversation_id: generation.conversation_id.clone(),
        seq,
        call,
    };
    let updated = |seq, call| ServerEvent::ToolCallUpdated {
        generation_id: generation.id.clone(),
        conversation_id: generation.conversation_id.clone(),
        seq,
        call,
    };
    let done = |seq, call| ServerEvent::ToolCallDone {
        generation_id: generation.id.clone(),
        conversation_id: generation.conversation_id.clone(),
        seq,
        call,
    };
    let offset = generation.prefix.len() + generation.text_len();
    let shown: Vec<_> = calls.iter().map(|call| offer.started(call, offset, round)).collect();
    let waiting: Vec<_> = shown
        .iter()
        .map(|call| {
            (call.approval == Some(ToolApproval::Pending)).then(|| generation.wait_for_approval(&call.id))
        })
        .collect();
    for call in &shown {
        generation.push_call(bus, call.clone(), started);
    }
    let began = std::time::Instant::now();
    let context = generation.call_context(generations);
    let runs = calls.iter().zip(shown).zip(waiting).map(|((call, mut shown), waiting)| async move {
        if let Some(waiting) = waiting {
            match waiting.answer().await {
                Some(true) => {
                    shown.approval = Some(ToolApproval::Approved);
                    generation.push_call(bus, shown.clone(), updated);
                }
                answer => {
                    let ran = unapproved(call, shown, answer.is_some());
                    audit(generations, generation, &ran.shown, 0);
                    generation.push_call(bus, ran.shown, done);
                    return ran.result;
                }
            }
        }
        let mut reported = Reported::default();
        let on_progress = |progress: CallProgress| {
            if reported.admits() {
                let call = WireCall {
                    progress: Some(ToolProgress {
                        progress: progress.progress,
                        total: progress.total,
                        message: progress.message,
                    }),
                    ..shown.clone()
                };
                generation.push_call(bus, call, updated);
            }
        };
        let ran = offer.run(&context, call, shown.clone(), on_progress).await;
        audit(generations, generation, &ran.shown, ran.result.content.len());
        generation.push_call(bus, ran.shown, done);
        ran.result
    });
    let runs = futures_util::future::join_all(runs);
    let outcome = tokio::select! {
        results = runs => Ok(results),
        // Dropping the calls cancels them.
        reason = stop_requested(stopped) => {
            let duration_ms = Some(began.elapsed().as_millis() as u64);
            for call in generation.calls().into_iter().filter(|c| c.duration_ms.is_none()) {
                let error = Some("stopped before it ended".to_owned());
                let call = WireCall { error, duration_ms, ..call };
                audit(generations, generation, &call, 0);
                generation.push_call(bus, call, done);
            }
            Err(reason)
        }
    };
    let stored = serde_json::to_string(&generation.calls()).expect("tool calls serialise");
    if let Err(e) = generations.db.save_tool_calls(&generation.message_id, &stored).await {
        tracing::warn!(error = %e, "cannot store a reply's tool calls");
    }
    outcome
}

/// How often a call's progress is shown: at most once a second, at most [`MAX_PROGRESS_REPORTS`]
/// times (each report is an event of the reply's log).
#[derive(Default)]
struct Reported {
    count: usize,
    last: Option<std::time::Instant>,
}

const PROGRESS_EVERY: Duration = Duration::from_secs(1);
const MAX_PROGRESS_REPORTS: usize = 120;

impl Reported {
    fn admits(&mut self) -> bool {
        let due = self.last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY);
        if !due || self.count >= MAX_PROGRESS_REPORTS {
            return false;
        }
        self.count += 1;
        self.last = Some(std::time::Instant::now());
        true
    }
}

/// Every tool call goes to the audit log and table: who, which server and tool, how long, how it
/// ended.
fn audit(generations: &Generations, generation: &Generation, call: &WireCall, bytes: usize) {
    let outcome = match (&call.error, call.approval) {
        (_, Some(ToolApproval::Declined)) => "declined",
        (Some(_), _) => "error",
        (None, _) => "ok",
    };
    tracing::info!(
        target: "openchat::audit",
        event = "tool_call",
        user = %generation.owner_id,
        conversation = %generation.conversation_id,
        server = %call.server,
        tool = %call.name,
        duration_ms = call.duration_ms.unwrap_or_default(),
        outcome,
        bytes,
        "tool call"
    );
    let record = crate::store::ToolCallAuditRecord {
        id: common::ids::random_id(16),
        at: common::clock::now_millis(),
        user_id: generation.owner_id.clone(),
        username: generation.username.clone(),
        conversation_id: generation.conversation_id.clone(),
        server: call.server.clone(),
        tool: call.name.clone(),
        outcome: outcome.to_owned(),
        duration_ms: call.duration_ms.unwrap_or_default() as i64,
        bytes: bytes as i64,
    };
    let db = generations.db.clone();
    // Written beside the reply, which never waits for it.
    tokio::spawn(async move {
        if let Err(e) = db.insert_tool_call_audit(&record).await {
            tracing::warn!(error = %e, "cannot store a tool call in the audit");
        }
    });
}
