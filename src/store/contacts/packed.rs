//! Packed search blocks: many contacts' search texts in one `contacts_index` value, so a name
//! `?q=` that few contacts hold reads thousands of values instead of one per contact.
//!
//! - `p ++ id` → a block: the texts of the contacts from `id` (its first) up to the next
//!   block's first id, in id order (see [`Block`]); the first block also takes any older id.
//! - `s ++ id` → a loose entry (see [`super::index`]): what a contact write sets, in the
//!   write's own transaction, when the contact's texts change; [`TOMBSTONE`] when it is
//!   deleted. A loose entry overrides the contact's record in its block.
//!
//! [`pack`] moves loose entries into their blocks (after an import, and about once a second
//! while the server runs), so writes never rewrite a block: a booking costs one small entry as
//! before, and the loose entries stay few. It runs in a transaction that checks each loose
//! entry it moves is still the one it read, so a contact written meanwhile keeps its entry.

use super::index;
use super::ContactError;
use crate::store::txn::{self, TxTree};
use memchr::memmem::Finder;
use sled::transaction::ConflictableTransactionError;
use sled::IVec;

/// The first byte of every block key.
pub(crate) const PACKED: u8 = b'p';
/// The loose entry of a deleted contact (never valid UTF-8, so never a `q`'s match).
pub(crate) const TOMBSTONE: &[u8] = &[0xff];
/// A block is cut when its records pass this many bytes: 16 KiB keeps a scan of a million
/// contacts to about 5,000 reads, and the block a pack rewrites at the newest end small.
pub(crate) const BLOCK_BYTES: usize = 16 * 1024;
/// Loose entries one pack transaction moves at most.
const ROUND: usize = 4096;

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
#[derive(Default)]
pub(crate) struct Builder {
    records: Vec<Record>,
    bytes: usize,
}

impl Builder {
    /// Adds the next record (ids ascending).
    pub(crate) fn push(&mut self, record: Record, mut put: impl FnMut(Vec<u8>, Vec<u8>)) {
        if !self.records.is_empty() && 4 + self.bytes + size(&record) > BLOCK_BYTES {
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

/// The key of the block `id` belongs in: the last block starting at or before it, else the
/// first block; `None` when there is none.
fn home(index: &sled::Tree, id: &[u8]) -> sled::Result<Option<IVec>> {
    let at_or_before = index.range(vec![PACKED]..=block_key(id)).next_back();
    match at_or_before {
        Some(item) => Ok(Some(item?.0)),
        None => Ok(index
            .range(vec![PACKED]..vec![PACKED + 1])
            .next()
            .transpose()?
            .map(|(k, _)| k)),
    }
}

/// The first block key after `key`, if any.
fn next_block(index: &sled::Tree, key: &[u8]) -> sled::Result<Option<IVec>> {
    use std::ops::Bound::{Excluded, Excluded as E};
    let range = (Excluded(key.to_vec()), E(vec![PACKED + 1]));
    Ok(index
        .range::<Vec<u8>, _>(range)
        .next()
        .transpose()?
        .map(|(k, _)| k))
}

/// Moves every loose entry into its block, cutting blocks at `max` bytes; returns how many
/// it moved. The caller makes sure one pack runs at a time (blocks are only changed here).
pub(crate) fn pack(index: &sled::Tree, max: usize) -> Result<u64, ContactError> {
    let mut moved = 0;
    loop {
        let start = vec![index::SEARCH];
        let ids: Vec<IVec> = index
            .range(start..index::SEARCH_END.to_vec())
            .keys()
            .take(ROUND)
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(moved);
        }
        // The loose entries grouped by home block (ids ascending, so blocks ascending too).
        let mut groups: Vec<(Option<IVec>, Vec<IVec>)> = Vec::new();
        let mut until: Option<IVec> = None;
        for key in &ids {
            let id = &key[1..];
            let same = groups.last().is_some() && until.as_ref().is_none_or(|u| &u[1..] > id);
            if !same {
                let home = home(index, id)?;
                until = match &home {
                    Some(k) => next_block(index, k)?,
                    None => None,
                };
                groups.push((home, Vec::new()));
            }
            groups.last_mut().expect("pushed").1.push(key.clone());
        }
        txn::transaction(&[index], |views| {
            groups
                .iter()
                .try_for_each(|(home, keys)| merge(&views[0], home.as_deref(), keys, max))
        })?;
        moved += ids.len() as u64;
    }
}

/// Rewrites the block `home` (a new one when `None`) with the loose entries `keys` applied,
/// removing them.
fn merge(
    tx: &TxTree<'_>,
    home: Option<&[u8]>,
    keys: &[IVec],
    max: usize,
) -> Result<(), ConflictableTransactionError<ContactError>> {
    let mut records = match home {
        Some(key) => {
            let value = tx.get(key)?.unwrap_or_default();
            let block = Block::parse(&value).ok_or_else(|| {
                ConflictableTransactionError::Abort(ContactError::Store(
                    "contacts index: an unreadable search block".into(),
                ))
            })?;
            tx.remove(key)?;
            block.records()
        }
        None => Vec::new(),
    };
    for key in keys {
        let Some(texts) = tx.get(key)? else { continue };
        tx.remove(key)?;
        let id: [u8; 16] = key[1..].try_into().unwrap_or_default();
        match records.binary_search_by(|(have, _)| have.cmp(&id)) {
            Ok(i) if texts.as_ref() == TOMBSTONE => drop(records.remove(i)),
            Ok(i) => records[i].1 = texts.to_vec(),
            Err(_) if texts.as_ref() == TOMBSTONE => {}
            Err(i) => records.insert(i, (id, texts.to_vec())),
        }
    }
    for (key, value) in blocks(&records, max) {
        tx.insert(key, value)?;
    }
    Ok(())
}

/// The search texts of the contact with these id bytes: its loose entry, else its record in
/// its block; `None` for a contact the index does not hold.
pub(crate) fn texts_of(index: &sled::Tree, id: &[u8]) -> sled::Result<Option<IVec>> {
    if let Some(loose) = index.get(index::search_key(id))? {
        return Ok((loose.as_ref() != TOMBSTONE).then_some(loose));
    }
    let Some(home) = home(index, id)? else {
        return Ok(None);
    };
    let value = index.get(home)?.unwrap_or_default();
    Ok(Block::parse(&value).and_then(|b| b.find(id).map(|i| IVec::from(b.texts(i)))))
}
