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
        if self.skip_lf {
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
                let added = value.len() + usize::from(self.has_data);
                if self.data.len() + added > self.max_bytes {
                    return Err(SseError::EventTooLarge(self.max_bytes));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
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
}
