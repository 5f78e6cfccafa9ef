//! One accepted request as the journal holds it: everything the applier writes into sled for
//! it, already encoded (the request record and its queue entries as the store keeps them).
//!
//! Layout: `id`, `workflow`, `status`, `record` as `u32 len | bytes`; then `u32 count` queue
//! entries of `key [8] | u32 len | bytes`; then `u32 count` dedupe marks of `u32 len | key |
//! until i64` (little-endian throughout).

/// What the applier writes for one accepted request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    pub id: String,
    pub workflow: String,
    /// The request's final status (`accepted`, `filtered`, `duplicate`, ...).
    pub status: String,
    /// The stored request record (see `requests::stored`).
    pub record: Vec<u8>,
    /// The queue key and encoded entry of each item that starts a run.
    pub queue: Vec<([u8; 8], Vec<u8>)>,
    /// The dedupe tree's key (`workflow\0key`) and until when (ms) it blocks repeats.
    pub dedupe: Vec<(String, i64)>,
}

impl Entry {
    /// The entry's bytes as a journal frame holds them.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let queued: usize = self.queue.iter().map(|(_, v)| 12 + v.len()).sum();
        let marks: usize = self.dedupe.iter().map(|(k, _)| 12 + k.len()).sum();
        let mut out = Vec::with_capacity(
            24 + self.id.len()
                + self.workflow.len()
                + self.status.len()
                + self.record.len()
                + queued
                + marks,
        );
        for field in [
            self.id.as_bytes(),
            self.workflow.as_bytes(),
            self.status.as_bytes(),
            &self.record,
        ] {
            put_bytes(&mut out, field);
        }
        out.extend_from_slice(&(self.queue.len() as u32).to_le_bytes());
        for (key, value) in &self.queue {
            out.extend_from_slice(key);
            put_bytes(&mut out, value);
        }
        out.extend_from_slice(&(self.dedupe.len() as u32).to_le_bytes());
        for (key, until) in &self.dedupe {
            put_bytes(&mut out, key.as_bytes());
            out.extend_from_slice(&until.to_le_bytes());
        }
        out
    }

    /// Reads an entry back; `Err` names what does not hold.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader { bytes, at: 0 };
        let id = r.text("id")?;
        let workflow = r.text("workflow")?;
        let status = r.text("status")?;
        let record = r.bytes("record")?.to_vec();
        let mut queue = Vec::new();
        for _ in 0..r.u32("queue count")? {
            let key: [u8; 8] = r.take(8, "queue key")?.try_into().expect("8 bytes");
            queue.push((key, r.bytes("queue entry")?.to_vec()));
        }
        let mut dedupe = Vec::new();
        for _ in 0..r.u32("dedupe count")? {
            let key = r.text("dedupe key")?;
            let until = i64::from_le_bytes(r.take(8, "dedupe until")?.try_into().expect("8"));
            dedupe.push((key, until));
        }
        if r.at != bytes.len() {
            return Err(format!("{} bytes after the entry", bytes.len() - r.at));
        }
        Ok(Self {
            id,
            workflow,
            status,
            record,
            queue,
            dedupe,
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let out = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or_else(|| format!("the entry ends inside its {what}"))?;
        self.at += n;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], String> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        String::from_utf8(self.bytes(what)?.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}
