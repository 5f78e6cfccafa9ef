//! A Server-Sent Events reader for `hookflow tail`: splits the byte stream into events
//! (`id:`, `event:`, `data:` lines up to a blank line; `:` comments ignored).

/// One event of the stream.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Collects chunks and hands out complete events.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
    current: SseEvent,
    has_data: bool,
}

impl SseParser {
    /// Adds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        let mut out = Vec::new();
        while let Some(end) = self.buffer.find('\n') {
            let line: String = self.buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                let done = std::mem::take(&mut self.current);
                if std::mem::take(&mut self.has_data) {
                    out.push(done);
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => self.current.id = Some(value.to_string()),
                "event" => self.current.event = value.to_string(),
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_come_out_whole_and_comments_are_skipped() {
        let mut p = SseParser::default();
        assert!(p
            .push(b"retry:2000\n\n: keep-alive\n\nevent:run\nda")
            .is_empty());
        let got = p.push(b"ta:{\"a\":1}\nid:7\n\n");
        assert_eq!(
            got,
            vec![SseEvent {
                id: Some("7".into()),
                event: "run".into(),
                data: "{\"a\":1}".into()
            }]
        );
    }
}
