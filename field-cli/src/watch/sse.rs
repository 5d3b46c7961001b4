//! A server-sent-events parser (the WHATWG `text/event-stream` rules), fed chunk by chunk as
//! bytes arrive; pure, no I/O.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; `message` when absent.
    pub event: String,
    pub data: String,
    /// The last `id:` seen so far on the stream (ids persist across events).
    pub id: Option<String>,
}

/// Longest line kept (bytes): ours are tiny; a stream sending longer lines is not ours.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    /// The last event id (`id:`), kept across events.
    pub last_id: Option<String>,
    /// The last `retry:` (ms).
    pub retry: Option<u64>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feeds bytes; returns the events they complete. Errors only on an over-long line.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, String> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(e) = self.line_done(&line) {
                        out.push(e);
                    }
                }
                _ => {
                    if self.line.len() >= MAX_LINE {
                        return Err(format!("an event-stream line longer than {MAX_LINE} bytes"));
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    fn line_done(&mut self, line: &[u8]) -> Option<Event> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            return Some(Event {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    event
                },
                data,
                id: self.last_id.clone(),
            });
        }
        if line.first() == Some(&b':') {
            return None; // a comment: heartbeats
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn all(chunks: &[&[u8]]) -> (Vec<Event>, Parser) {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.feed(c).unwrap());
        }
        (out, p)
    }

    #[test]
    fn the_servers_stream_parses_into_its_events() {
        let (events, p) = all(&[
            b"retry: 2000\n\n",
            b"id: 17\nevent: sync\ndata: {\"reason\":\"resume\"}\n\n",
            b":\n\n",
            b"id: 20\nevent: refresh\ndata: {\"expires_at\":9}\n\n",
        ]);
        assert_eq!(p.retry, Some(2000));
        assert_eq!(
            events,
            vec![
                Event {
                    event: "sync".into(),
                    data: "{\"reason\":\"resume\"}".into(),
                    id: Some("17".into())
                },
                Event {
                    event: "refresh".into(),
                    data: "{\"expires_at\":9}".into(),
                    id: Some("20".into())
                },
            ]
        );
    }

    #[test]
    fn events_split_anywhere_across_chunks_and_any_line_ending_parse_the_same() {
        let text: &[u8] = b"id: 5\r\nevent: sync\rdata: a\r\ndata: b\n\r\n";
        let (whole, _) = all(&[text]);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].data, "a\nb");
        for cut in 0..text.len() {
            let (split, _) = all(&[&text[..cut], &text[cut..]]);
            assert_eq!(split, whole, "cut at {cut}");
        }
    }

    #[test]
    fn comments_and_data_free_blocks_dispatch_nothing_and_ids_persist() {
        let (events, p) = all(&[b": ping\n\nid: 3\n\nevent: x\n\ndata\n\n"]);
        assert_eq!(p.last_id.as_deref(), Some("3"));
        assert_eq!(
            events,
            vec![Event {
                event: "message".into(),
                data: String::new(),
                id: Some("3".into())
            }]
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut p = Parser::new();
        let long = vec![b'a'; MAX_LINE + 1];
        assert!(p.feed(&long).is_err());
    }
}
