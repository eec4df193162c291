//! A bounded decoder of server-sent events (the WHATWG `text/event-stream` format): a line, and
//! the data of one event, may hold at most a given number of bytes, so a provider that never
//! ends a line cannot make the server buffer without limit. Comments (`: keep-alive`) are
//! consumed but yield nothing, so a caller that times the gap between events is not fooled by
//! them.

use std::collections::VecDeque;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; empty when the event named none.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// Why a stream cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("the stream sent a line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("the stream sent an event larger than {0} bytes")]
    EventTooLarge(usize),
}

/// Incremental decoder: feed it the body's chunks as they come.
#[derive(Debug)]
pub struct SseDecoder {
    max_bytes: usize,
    /// The current, unfinished line.
    line: Vec<u8>,
    /// The last chunk ended in `\r`: a `\n` starting the next one belongs to that line end.
    skip_lf: bool,
    event: String,
    data: String,
    has_data: bool,
}

impl SseDecoder {
    /// A decoder accepting lines, and events' data, of at most `max_bytes` bytes.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            line: Vec::new(),
            skip_lf: false,
            event: String::new(),
            data: String::new(),
            has_data: false,
        }
    }

    /// Decodes `bytes`, appending each completed event to `out`. After an error the decoder
    /// must not be fed again.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), SseError> {
        if self.skip_lf && !bytes.is_empty() {
            self.skip_lf = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push_line_part(&bytes[..end])?;
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out)?;
            self.line = line;
            self.line.clear();
            let crlf = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if crlf {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        self.push_line_part(bytes)
    }

    fn push_line_part(&mut self, part: &[u8]) -> Result<(), SseError> {
        if self.line.len() + part.len() > self.max_bytes {
            return Err(SseError::LineTooLong(self.max_bytes));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), SseError> {
        if line.is_empty() {
            if self.has_data {
                out.push_back(SseEvent {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                // Invalid UTF-8 becomes U+FFFD (3 bytes a byte): the bound is on the text kept.
                let value = String::from_utf8_lossy(value);
                let added = value.len() + usize::from(self.has_data);
                if self.data.len() + added > self.max_bytes {
                    return Err(SseError::EventTooLarge(self.max_bytes));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            _ => {} // id, retry and unknown fields mean nothing here
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in(chunks: &[&[u8]], max: usize) -> Result<Vec<SseEvent>, SseError> {
        let mut decoder = SseDecoder::new(max);
        let mut out = VecDeque::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out)?;
        }
        Ok(out.into())
    }

    fn event(event: &str, data: &str) -> SseEvent {
        SseEvent { event: event.into(), data: data.into() }
    }

    #[test]
    fn decodes_events_across_chunks_and_line_ends() {
        let events = decode_in(
            &[
                b"data: a\n\n: keep-alive\n\nevent: ping\r",
                b"\ndata: {}\r\n\r",
                b"\ndata: x\rdata:y\n",
                b"\n",
            ],
            1024,
        )
        .unwrap();
        assert_eq!(events, vec![event("", "a"), event("ping", "{}"), event("", "x\ny")]);
        // An event without data, and an unfinished one, yield nothing.
        assert_eq!(decode_in(&[b"event: a\n\ndata: b"], 1024).unwrap(), vec![]);
    }

    #[test]
    fn a_line_or_event_over_the_bound_is_an_error() {
        let long = vec![b'x'; 100];
        assert_eq!(decode_in(&[b"data: ", &long], 64), Err(SseError::LineTooLong(64)));
        // Split in many small chunks, never completed: still bounded.
        let chunks: Vec<&[u8]> = std::iter::repeat_n(&b"xxxxxxxx"[..], 20).collect();
        assert_eq!(decode_in(&chunks, 64), Err(SseError::LineTooLong(64)));
        let many_lines = "data: 0123456789\n".repeat(10);
        assert_eq!(decode_in(&[many_lines.as_bytes()], 64), Err(SseError::EventTooLarge(64)));
        // Exactly at the bound is fine.
        let exact = format!("data: {}\n\n", "y".repeat(58));
        assert_eq!(decode_in(&[exact.as_bytes()], 64).unwrap(), vec![event("", &"y".repeat(58))]);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Feeds `bytes` cut at `cuts`, checking after every chunk that the decoder holds no
        /// more than its bound; the events (or the first error).
        fn decode_cut(bytes: &[u8], cuts: &[usize], max: usize) -> Result<Vec<SseEvent>, SseError> {
            let mut decoder = SseDecoder::new(max);
            let mut out = VecDeque::new();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.push(0);
            points.push(bytes.len());
            points.sort_unstable();
            for pair in points.windows(2) {
                decoder.feed(&bytes[pair[0]..pair[1]], &mut out)?;
                assert!(
                    decoder.line.len() <= max && decoder.data.len() <= max,
                    "the decoder holds more than its bound"
                );
            }
            Ok(out.into())
        }

        /// Bytes that look like an event stream: field names, colons, line ends, text.
        fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"data: ".to_vec()),
                Just(b"data:".to_vec()),
                Just(b"event: ".to_vec()),
                Just(b": keep-alive".to_vec()),
                Just(b"id: 1".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"\n\n".to_vec()),
                Just("é€😀".as_bytes().to_vec()),
                proptest::collection::vec(any::<u8>(), 0..40),
            ];
            proptest::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any input: no panic, memory within the bound, and the same answer however the
            /// body is cut into chunks.
            #[test]
            fn any_input_decodes_the_same_in_any_chunks_within_the_bound(
                bytes in prop_oneof![stream_bytes(), proptest::collection::vec(any::<u8>(), 0..600)],
                cuts in proptest::collection::vec(any::<usize>(), 0..12),
                max in 1usize..200,
            ) {
                let whole = decode_cut(&bytes, &[], max);
                let chunked = decode_cut(&bytes, &cuts, max);
                prop_assert_eq!(&whole, &chunked);
                if let Err(e) = whole {
                    let text = e.to_string();
                    prop_assert!(text.starts_with("the stream sent a") && text.ends_with(&format!("than {max} bytes")), "{}", text);
                }
            }

            /// Well-formed events come back as they were sent, whatever the line ends.
            #[test]
            fn events_round_trip(
                events in proptest::collection::vec(("[a-z_]{0,12}", "[^\r\n]{0,40}"), 0..8),
                line_end in prop_oneof![Just("\n"), Just("\r"), Just("\r\n")],
                cuts in proptest::collection::vec(any::<usize>(), 0..8),
            ) {
                let mut text = String::new();
                for (event, data) in &events {
                    if !event.is_empty() {
                        text.push_str(&format!("event: {event}{line_end}"));
                    }
                    text.push_str(&format!(": comment{line_end}data: {data}{line_end}{line_end}"));
                }
                let decoded = decode_cut(text.as_bytes(), &cuts, 4096).unwrap();
                let expected: Vec<SseEvent> =
                    events.iter().map(|(e, d)| SseEvent { event: e.clone(), data: d.clone() }).collect();
                prop_assert_eq!(decoded, expected);
            }
        }
    }
}
