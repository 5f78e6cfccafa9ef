//! What the posting-list index trees (`runs_index`, `requests_index`, `contacts_index`) share,
//! written once: a record's entries `kind ++ value ++ 0x00 ++ id` (see [`super::posting`]),
//! their update in the caller's atomic write, and the layout mark.
//!
//! The key `v` holds a tree's layout version. A tree without it (a data dir from before the
//! index, or of another layout) is rebuilt from its records when the store opens; `hookflow
//! reset` leaves it empty but marked, so the next start does not rebuild it for nothing.

use super::posting::{apply_diff, Entry, IndexWrite};
use sled::transaction::UnabortableTransactionError;

/// The key holding a tree's layout version.
const VERSION_KEY: &[u8] = b"v";
/// Records per batch when an index is rebuilt (a batch is held in memory until applied).
const REBUILD_BATCH: u64 = 2_000;

/// A record as an index of posting lists sees it: its id and the lists it is on.
pub(crate) trait Postings {
    /// The record's id: the end of each of its keys.
    fn id(&self) -> &str;
    /// The lists it is on, as (kind, value); a value holds no 0x00.
    fn lists(&self) -> Vec<(u8, &str)>;
}

/// The list of records whose `kind` is `value`: the prefix of its entries.
pub(crate) fn list(kind: u8, value: &str) -> Vec<u8> {
    // Room for the 0x00 and a 26-letter ULID after it.
    let mut key = Vec::with_capacity(value.len() + 28);
    key.push(kind);
    key.extend_from_slice(value.as_bytes());
    key.push(0);
    key
}

/// A record's index entries (empty values), sorted by key.
pub(crate) fn entries<P: Postings>(record: &P) -> Vec<Entry> {
    let mut keys: Vec<Vec<u8>> = record
        .lists()
        .into_iter()
        .map(|(kind, value)| {
            let mut key = list(kind, value);
            key.extend_from_slice(record.id().as_bytes());
            key
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|k| (k, Vec::new())).collect()
}

/// Moves a record's entries from `old` to `new` (`None`: the record is new, or deleted), in
/// the same transaction or batch as the write of the record.
pub(crate) fn update<W: IndexWrite + ?Sized, P: Postings>(
    index: &W,
    old: Option<&P>,
    new: Option<&P>,
) -> Result<(), UnabortableTransactionError> {
    update_with(index, old, new, entries)
}

/// [`update`] for a record whose entries `entries_of` gives (sorted by key), values and all.
pub(crate) fn update_with<W: IndexWrite + ?Sized, R>(
    index: &W,
    old: Option<&R>,
    new: Option<&R>,
    entries_of: impl Fn(&R) -> Vec<Entry>,
) -> Result<(), UnabortableTransactionError> {
    let old = old.map(&entries_of).unwrap_or_default();
    let new = new.map(&entries_of).unwrap_or_default();
    apply_diff(index, &old, &new)
}

/// The lists a filter selects, given as (kind, the value asked for if any), in that order;
/// empty when it selects every record.
pub(crate) fn selected(filter: &[(u8, Option<&str>)]) -> Vec<Vec<u8>> {
    filter
        .iter()
        .filter_map(|(kind, value)| value.map(|v| list(*kind, v)))
        .collect()
}

/// Empties `index`, leaving it marked as current at `version` (`hookflow reset`).
pub(crate) fn clear(index: &sled::Tree, version: &[u8]) -> sled::Result<()> {
    index.clear()?;
    index.insert(VERSION_KEY, version)?;
    Ok(())
}

/// Builds `index` from every record of `source` when it is not marked `version`, from each
/// record's entries as `entries_of(key, value)` gives them; returns how many records were
/// indexed, `None` when the index was current.
pub(crate) fn rebuild<E: From<sled::Error>>(
    source: &sled::Tree,
    index: &sled::Tree,
    version: &[u8],
    entries_of: impl FnMut(&[u8], &[u8]) -> Result<Vec<Entry>, E>,
) -> Result<Option<u64>, E> {
    rebuild_and(source, index, version, entries_of, |_| Ok(0))
}

/// [`rebuild`], then `finish` adds the entries of records kept elsewhere (see
/// [`rebuild_into`]).
pub(crate) fn rebuild_and<E: From<sled::Error>>(
    source: &sled::Tree,
    index: &sled::Tree,
    version: &[u8],
    mut entries_of: impl FnMut(&[u8], &[u8]) -> Result<Vec<Entry>, E>,
    finish: impl FnOnce(&mut sled::Batch) -> Result<u64, E>,
) -> Result<Option<u64>, E> {
    let each = |key: &[u8], bytes: &[u8], batch: &mut sled::Batch| {
        for (key, value) in entries_of(key, bytes)? {
            batch.insert(key, value);
        }
        Ok(())
    };
    rebuild_into(source, index, version, each, finish)
}

/// [`rebuild`] where `each` adds a record's entries to the batch itself, and `finish` adds
/// what is left at the end (entries that span records, such as packed blocks, or records kept
/// in another tree) and says how many records of its own it indexed.
pub(crate) fn rebuild_into<E: From<sled::Error>>(
    source: &sled::Tree,
    index: &sled::Tree,
    version: &[u8],
    mut each: impl FnMut(&[u8], &[u8], &mut sled::Batch) -> Result<(), E>,
    finish: impl FnOnce(&mut sled::Batch) -> Result<u64, E>,
) -> Result<Option<u64>, E> {
    if index.get(VERSION_KEY)?.as_deref() == Some(version) {
        return Ok(None);
    }
    index.clear()?;
    let mut count = 0u64;
    let mut batch = sled::Batch::default();
    for item in source.iter() {
        let (key, bytes) = item?;
        each(&key, &bytes, &mut batch)?;
        count += 1;
        if count.is_multiple_of(REBUILD_BATCH) {
            index.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    count += finish(&mut batch)?;
    batch.insert(VERSION_KEY, version);
    index.apply_batch(batch)?;
    Ok(Some(count))
}
