//! The value of a packed search block (see [`super::packed`]): many contacts' ids and search
//! texts, read in place, and how records are cut into blocks.

/// The first byte of every block key.
pub(crate) const PACKED: u8 = b'p';

use memchr::memmem::Finder;

/// One contact's record in a block: its 16 id bytes and its search texts.
pub(crate) type Record = ([u8; 16], Vec<u8>);

/// The key of the block whose first id is `id`.
pub(crate) fn block_key(id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(PACKED);
    key.extend_from_slice(id);
    key
}

/// A block's value read in place: `n` (u32 LE), the `n` ids, the `n` ends of the texts in the
/// text area (u32 LE), then the texts, each followed by 0x00 (so a `q` without 0x00 found in
/// the text area lies inside one contact's texts).
pub(crate) struct Block<'a> {
    ids: &'a [u8],
    ends: &'a [u8],
    texts: &'a [u8],
}

impl<'a> Block<'a> {
    /// Reads a stored block; `None` when it is not one.
    pub(crate) fn parse(value: &'a [u8]) -> Option<Self> {
        let n = u32::from_le_bytes(value.get(..4)?.try_into().ok()?) as usize;
        let ids = value.get(4..4 + 16 * n)?;
        let ends = value.get(4 + 16 * n..4 + 20 * n)?;
        let texts = value.get(4 + 20 * n..)?;
        let block = Self { ids, ends, texts };
        (n == 0 || block.end(n - 1) < texts.len()).then_some(block)
    }

    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.ids.len() / 16
    }

    /// The id bytes of record `i`.
    pub(crate) fn id(&self, i: usize) -> &'a [u8] {
        &self.ids[16 * i..16 * i + 16]
    }

    fn end(&self, i: usize) -> usize {
        u32::from_le_bytes(self.ends[4 * i..4 * i + 4].try_into().expect("4 bytes")) as usize
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.end(i - 1) + 1
        }
    }

    /// The search texts of record `i`.
    pub(crate) fn texts(&self, i: usize) -> &'a [u8] {
        self.texts.get(self.start(i)..self.end(i)).unwrap_or(&[])
    }

    /// The record with these id bytes, if it holds one.
    pub(crate) fn find(&self, id: &[u8]) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.id(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The records below `below` (all without it) whose texts `finds` accepts, in id order:
    /// one substring search over the text area, each hit checked against its record's texts.
    pub(crate) fn matching(
        &self,
        finder: &Finder<'_>,
        finds: impl Fn(&[u8]) -> bool,
        below: Option<&[u8]>,
    ) -> Vec<usize> {
        let n = match below {
            Some(below) => (0..self.len())
                .rev()
                .find(|i| self.id(*i) < below)
                .map_or(0, |i| i + 1),
            None => self.len(),
        };
        let mut found = Vec::new();
        if n == 0 {
            return found;
        }
        let area = &self.texts[..self.end(n - 1)];
        let mut from = 0;
        while let Some(at) = finder.find(&area[from..]) {
            let at = from + at;
            // The record whose texts (or the 0x00 after them) hold the hit.
            let i = self.first_ending_at_or_after(at, n);
            if finds(self.texts(i)) {
                found.push(i);
            }
            from = self.end(i) + 1;
            if from >= area.len() {
                break;
            }
        }
        found
    }

    fn first_ending_at_or_after(&self, at: usize, n: usize) -> usize {
        let (mut lo, mut hi) = (0, n - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.end(mid) < at {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Every record, in id order.
    pub(crate) fn records(&self) -> Vec<Record> {
        (0..self.len())
            .map(|i| {
                let id = self.id(i).try_into().expect("16 bytes");
                (id, self.texts(i).to_vec())
            })
            .collect()
    }
}

/// The value of a block holding `records` (in id order).
pub(crate) fn encode(records: &[Record]) -> Vec<u8> {
    let texts: usize = records.iter().map(|(_, t)| t.len() + 1).sum();
    let mut out = Vec::with_capacity(4 + 20 * records.len() + texts);
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for (id, _) in records {
        out.extend_from_slice(id);
    }
    let mut end = 0usize;
    for (_, t) in records {
        end += t.len();
        out.extend_from_slice(&(end as u32).to_le_bytes());
        end += 1;
    }
    for (_, t) in records {
        out.extend_from_slice(t);
        out.push(0);
    }
    out
}

/// The bytes a record takes in a block.
fn size(record: &Record) -> usize {
    20 + record.1.len() + 1
}

/// Cuts records (in id order) into blocks of at most `max` bytes (a record alone may pass it),
/// each as (key, value).
pub(crate) fn blocks(records: &[Record], max: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let (mut from, mut bytes) = (0, 4);
    for (i, record) in records.iter().enumerate() {
        if i > from && bytes + size(record) > max {
            out.push((block_key(&records[from].0), encode(&records[from..i])));
            (from, bytes) = (i, 4);
        }
        bytes += size(record);
    }
    if from < records.len() {
        out.push((block_key(&records[from].0), encode(&records[from..])));
    }
    out
}

/// Fills blocks from records given in id order (the index rebuild), handing each full one to
/// `put`; [`Builder::finish`] hands the last.
pub(crate) struct Builder {
    records: Vec<Record>,
    bytes: usize,
    max: usize,
}

impl Builder {
    /// A builder cutting blocks at `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            records: Vec::new(),
            bytes: 0,
            max,
        }
    }

    /// Adds the next record (ids ascending).
    pub(crate) fn push(&mut self, record: Record, mut put: impl FnMut(Vec<u8>, Vec<u8>)) {
        if !self.records.is_empty() && 4 + self.bytes + size(&record) > self.max {
            let records = std::mem::take(&mut self.records);
            put(block_key(&records[0].0), encode(&records));
            self.bytes = 0;
        }
        self.bytes += size(&record);
        self.records.push(record);
    }

    /// Hands the last block, if any.
    pub(crate) fn finish(self, mut put: impl FnMut(Vec<u8>, Vec<u8>)) {
        if let Some((first, _)) = self.records.first() {
            put(block_key(first), encode(&self.records));
        }
    }
}
