//! What a generation has sent so far, read from this process's memory or from another
//! replica's log: enough to bring a socket up to date by `after_seq`.

use api_types::chat::{GenerationState, ServerEvent};

pub struct Snapshot {
    pub id: String,
    pub conversation_id: String,
    pub message_id: String,
    /// The reply's text before this generation (a continuation's).
    pub prefix: String,
    pub started_ms: i64,
    /// The numbered events (deltas, tool calls): event `seq` at `seq - 1`.
    pub events: Vec<ServerEvent>,
    pub done: Option<ServerEvent>,
}

impl Snapshot {
    /// A snapshot from a log's events (`generation_started` first): deltas up to the first gap
    /// (a log being rewritten), the end only when every delta before it is there.
    pub fn from_log(
        id: &str,
        conversation_id: &str,
        started_ms: i64,
        events: impl IntoIterator<Item = ServerEvent>,
    ) -> Option<Self> {
        let mut snapshot: Option<Self> = None;
        let mut complete = true;
        for event in events {
            match event {
                ServerEvent::GenerationStarted { message_id, prefix, .. } => {
                    snapshot = Some(Self {
                        id: id.to_owned(),
                        conversation_id: conversation_id.to_owned(),
                        message_id,
                        prefix,
                        started_ms,
                        events: Vec::new(),
                        done: None,
                    });
                }
                numbered if numbered.numbered().is_some() => {
                    let Some(s) = snapshot.as_mut() else { continue };
                    let seq = numbered.numbered().map_or(0, |(_, _, seq)| seq);
                    if seq == s.events.len() as u64 + 1 && complete {
                        s.events.push(numbered);
                    } else if seq > s.events.len() as u64 + 1 {
                        complete = false;
                    }
                }
                done @ ServerEvent::GenerationDone { .. } => {
                    if let Some(s) = snapshot.as_mut().filter(|_| complete) {
                        s.done = Some(done);
                    }
                }
                _ => {}
            }
        }
        snapshot
    }

    /// The numbered events after `after_seq`, the last seq, and the final event if it has ended.
    pub fn replay(&self, after_seq: u64) -> (Vec<ServerEvent>, u64, Option<ServerEvent>) {
        let last = self.events.len() as u64;
        let events = self.events[after_seq.min(last) as usize..].to_vec();
        (events, last, self.done.clone())
    }

    pub fn is_done(&self) -> bool {
        self.done.is_some()
    }

    pub fn state(&self) -> GenerationState {
        GenerationState {
            generation_id: self.id.clone(),
            message_id: self.message_id.clone(),
            seq: self.events.len() as u64,
            prefix: self.prefix.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use api_types::chat::ServerEvent;

    use super::Snapshot;

    fn delta(seq: u64, text: &str) -> ServerEvent {
        ServerEvent::Delta { generation_id: "g".into(), conversation_id: "c".into(), seq, text: text.into() }
    }

    fn started() -> ServerEvent {
        ServerEvent::GenerationStarted {
            generation_id: "g".into(),
            conversation_id: "c".into(),
            message_id: "m".into(),
            parent_id: String::new(),
            position: 1,
            model: "x".into(),
            prefix: String::new(),
        }
    }

    #[test]
    fn a_log_with_a_gap_stops_before_it() {
        let events = vec![started(), delta(1, "a"), delta(2, "b"), delta(4, "d"), delta(3, "c")];
        let snapshot = Snapshot::from_log("g", "c", 0, events).unwrap();
        assert_eq!(snapshot.events, [delta(1, "a"), delta(2, "b")]);
        let (deltas, last, done) = snapshot.replay(1);
        assert_eq!(deltas.len(), 1);
        assert_eq!(last, 2);
        assert!(done.is_none());
    }

    #[test]
    fn a_log_without_its_start_is_not_a_snapshot() {
        assert!(Snapshot::from_log("g", "c", 0, vec![delta(1, "a")]).is_none());
    }
}
