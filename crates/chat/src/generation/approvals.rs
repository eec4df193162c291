//! Tool calls that wait for their owner's approval ("ask me before running this tool"): the
//! answer reaches the generation wherever it runs.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{Generation, Generations};

/// How long a call waits for its owner's answer before it ends unrun.
pub(super) const APPROVAL_WAIT: Duration = Duration::from_secs(600);

/// A call's place among those waiting for approval; taken back when dropped.
pub(super) struct Waiting<'a> {
    generation: &'a Generation,
    call_id: String,
    answer: oneshot::Receiver<bool>,
}

impl Waiting<'_> {
    /// The owner's answer: `None` when none came within [`APPROVAL_WAIT`].
    pub async fn answer(mut self) -> Option<bool> {
        tokio::time::timeout(APPROVAL_WAIT, &mut self.answer).await.ok().and_then(Result::ok)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.generation.approvals.lock().expect("approvals lock poisoned").remove(&self.call_id);
    }
}

impl Generation {
    /// Starts waiting for the owner's answer about call `call_id` (before the call is shown, so
    /// an answer can never arrive too early).
    pub(super) fn wait_for_approval(&self, call_id: &str) -> Waiting<'_> {
        let (sender, answer) = oneshot::channel();
        self.approvals.lock().expect("approvals lock poisoned").insert(call_id.to_owned(), sender);
        Waiting { generation: self, call_id: call_id.to_owned(), answer }
    }

    /// Gives the owner's answer to a call waiting for it; whether one was.
    fn answer(&self, call_id: &str, approved: bool) -> bool {
        let waiting = self.approvals.lock().expect("approvals lock poisoned").remove(call_id);
        waiting.is_some_and(|sender| sender.send(approved).is_ok())
    }
}

impl Generations {
    /// The owner's answer about a tool call waiting for approval, wherever its generation runs;
    /// false when no such call waits (here), or no such generation runs (anywhere).
    pub async fn answer(&self, generation_id: &str, owner_id: &str, call_id: &str, approved: bool) -> bool {
        if let Some(g) = self.get(generation_id, owner_id) {
            return g.answer(call_id, approved);
        }
        match self.bus.cluster() {
            Some(cluster) => cluster.answer(generation_id, owner_id, call_id, approved).await,
            None => false,
        }
    }

    /// An answer another replica passed on (it checked the owner).
    pub fn answer_here(&self, generation_id: &str, call_id: &str, approved: bool) {
        let generation = self.running.lock().expect("generations lock poisoned").get(generation_id).cloned();
        if let Some(g) = generation {
            g.answer(call_id, approved);
        }
    }
}
