//! A reply as it streams: its text, its numbered events, its tool calls, and their replay.

use api_types::chat::{GenerationState, ServerEvent};
use api_types::mcp::ToolCall as WireCall;

use super::{Bus, Generation, MAX_DELTA_BYTES, Snapshot};
use crate::cluster::GenerationMeta;

#[derive(Default)]
pub(super) struct State {
    pub(super) text: String,
    /// Byte offset in `text` where each delta ends, in order.
    pub(super) ends: Vec<usize>,
    /// The other numbered events (tool calls starting and ending), by `seq`; deltas take the
    /// numbers between them. (Kept apart so a delta costs one offset, not an event.)
    pub(super) others: Vec<(u64, ServerEvent)>,
    /// The tools called so far, as the reply shows them (the latest state of each call).
    pub(super) calls: Vec<WireCall>,
    pub(super) done: Option<ServerEvent>,
}

impl State {
    /// How many numbered events there are: the last `seq`.
    pub(super) fn last_seq(&self) -> u64 {
        (self.ends.len() + self.others.len()) as u64
    }
}

impl Generation {
    pub(super) fn meta(&self) -> GenerationMeta<'_> {
        GenerationMeta {
            id: &self.id,
            owner_id: &self.owner_id,
            conversation_id: &self.conversation_id,
            message_id: &self.message_id,
            started_ms: self.started_ms,
        }
    }

    pub(super) fn started_event(&self) -> ServerEvent {
        ServerEvent::GenerationStarted {
            generation_id: self.id.clone(),
            conversation_id: self.conversation_id.clone(),
            message_id: self.message_id.clone(),
            parent_id: self.parent_id.clone().unwrap_or_default(),
            position: self.position,
            model: self.model.clone(),
            prefix: self.prefix.clone(),
        }
    }

    /// Appends deltas (at most [`MAX_DELTA_BYTES`] each) and publishes them under the same
    /// lock, so a subscriber that snapshots under the lock sees every delta exactly once.
    pub(super) fn push_delta(&self, bus: &Bus, mut text: &str) {
        let mut state = self.state.lock().expect("generation lock poisoned");
        while !text.is_empty() {
            let mut cut = text.len().min(MAX_DELTA_BYTES);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let (piece, rest) = text.split_at(cut);
            text = rest;
            state.text.push_str(piece);
            let end = state.text.len();
            state.ends.push(end);
            let seq = state.last_seq();
            let delta = ServerEvent::Delta {
                generation_id: self.id.clone(),
                conversation_id: self.conversation_id.clone(),
                seq,
                text: piece.to_owned(),
            };
            bus.record(&self.meta(), delta);
        }
    }

    /// Appends as much of `text` as fits in `max_bytes` of reply (cut at a character
    /// boundary); returns whether all of it fit.
    pub(super) fn push_delta_within(&self, bus: &Bus, text: &str, max_bytes: usize) -> bool {
        let used = self.prefix.len() + self.state.lock().expect("generation lock poisoned").text.len();
        let room = max_bytes.saturating_sub(used);
        if text.len() <= room {
            self.push_delta(bus, text);
            return true;
        }
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > 0 {
            self.push_delta(bus, &text[..cut]);
        }
        false
    }

    /// Records a numbered event made by `make` from its `seq` (a tool call's start or end), and
    /// the call as the reply shows it.
    pub(super) fn push_call(
        &self,
        bus: &Bus,
        call: WireCall,
        make: impl FnOnce(u64, WireCall) -> ServerEvent,
    ) {
        let mut state = self.state.lock().expect("generation lock poisoned");
        match state.calls.iter_mut().find(|c| c.id == call.id) {
            Some(known) => *known = call.clone(),
            None => state.calls.push(call.clone()),
        }
        let seq = state.last_seq() + 1;
        let event = make(seq, call);
        state.others.push((seq, event.clone()));
        bus.record(&self.meta(), event);
    }

    /// The tools called so far.
    pub(super) fn calls(&self) -> Vec<WireCall> {
        self.state.lock().expect("generation lock poisoned").calls.clone()
    }

    /// Bytes of text this generation has written.
    pub(super) fn text_len(&self) -> usize {
        self.state.lock().expect("generation lock poisoned").text.len()
    }

    /// The text streamed by this generation from byte `offset` on (the prefix not included),
    /// and where it ends.
    pub(super) fn text_from(&self, offset: usize) -> (String, usize) {
        let state = self.state.lock().expect("generation lock poisoned");
        (state.text.get(offset..).unwrap_or_default().to_owned(), state.text.len())
    }

    /// The reply's whole text so far: the prefix and every delta.
    pub(super) fn text(&self) -> String {
        let state = self.state.lock().expect("generation lock poisoned");
        let mut text = String::with_capacity(self.prefix.len() + state.text.len());
        text.push_str(&self.prefix);
        text.push_str(&state.text);
        text
    }

    pub(super) fn finish(&self, bus: &Bus, done: ServerEvent) {
        let mut state = self.state.lock().expect("generation lock poisoned");
        state.done = Some(done.clone());
        bus.record(&self.meta(), done);
    }

    /// The deltas after `after_seq`, the last seq, and the final event if it has ended.
    pub fn replay(&self, after_seq: u64) -> (Vec<ServerEvent>, u64, Option<ServerEvent>) {
        let state = self.state.lock().expect("generation lock poisoned");
        let last = state.last_seq();
        let events = (after_seq.min(last) + 1..=last).map(|seq| self.event_of(&state, seq)).collect();
        (events, last, state.done.clone())
    }

    /// Numbered event `seq`.
    pub(super) fn event_of(&self, state: &State, seq: u64) -> ServerEvent {
        match state.others.binary_search_by_key(&seq, |(s, _)| *s) {
            Ok(at) => state.others[at].1.clone(),
            Err(others_before) => {
                let delta = seq as usize - 1 - others_before;
                let start = if delta == 0 { 0 } else { state.ends[delta - 1] };
                ServerEvent::Delta {
                    generation_id: self.id.clone(),
                    conversation_id: self.conversation_id.clone(),
                    seq,
                    text: state.text[start..state.ends[delta]].to_owned(),
                }
            }
        }
    }

    /// Everything this generation has sent so far, as another replica would read it.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state.lock().expect("generation lock poisoned");
        let events = (1..=state.last_seq()).map(|seq| self.event_of(&state, seq)).collect();
        Snapshot {
            id: self.id.clone(),
            conversation_id: self.conversation_id.clone(),
            message_id: self.message_id.clone(),
            prefix: self.prefix.clone(),
            started_ms: self.started_ms,
            events,
            done: state.done.clone(),
        }
    }

    /// Writes this generation's log again, whole, to the cluster (after writes were lost).
    pub(super) fn rewrite_log(&self, bus: &Bus) {
        let Some(cluster) = bus.cluster() else { return };
        let state = self.state.lock().expect("generation lock poisoned");
        let mut events = Vec::with_capacity(state.last_seq() as usize + 2);
        events.push(self.started_event());
        events.extend((1..=state.last_seq()).map(|seq| self.event_of(&state, seq)));
        events.extend(state.done.clone());
        cluster.rewrite(&self.meta(), &events);
    }

    /// About what its record weighs: its text.
    pub(super) fn size(&self) -> usize {
        self.prefix.len() + self.state.lock().expect("generation lock poisoned").text.len()
    }

    /// Whether the generation has ended.
    pub fn is_done(&self) -> bool {
        self.state.lock().expect("generation lock poisoned").done.is_some()
    }

    pub fn state(&self) -> GenerationState {
        let state = self.state.lock().expect("generation lock poisoned");
        GenerationState {
            generation_id: self.id.clone(),
            message_id: self.message_id.clone(),
            seq: state.last_seq(),
            prefix: self.prefix.clone(),
        }
    }
}
