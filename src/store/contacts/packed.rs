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

use super::block::{block_key, blocks, Block, Record, PACKED};
use super::index;
use super::ContactError;
use crate::store::txn::{self, TxTree};
use sled::transaction::ConflictableTransactionError;
use sled::IVec;

/// The loose entry of a deleted contact (never valid UTF-8, so never a `q`'s match).
pub(crate) const TOMBSTONE: &[u8] = &[0xff];
/// A block is cut when its records pass this many bytes: 16 KiB keeps a scan of a million
/// contacts to about 5,000 reads, and the block a pack rewrites at the newest end small.
pub(crate) const BLOCK_BYTES: usize = 16 * 1024;
/// Loose entries one pack transaction moves at most.
const ROUND: usize = 4096;
/// The first byte of the fence: keys between the blocks and the loose entries, never removed.
/// sled splits a leaf at 16 entries whatever their size, so without a fence the leaf holding
/// the newest blocks (up to 16 KiB each) also took the loose entries every contact write adds
/// and the pack removes, and sled rewrote those blocks with each of them. Seventeen keys are
/// more than one leaf keeps, so a leaf stops spanning from a block to a loose entry.
const FENCE: u8 = PACKED + 1;
/// How many fence keys there are.
const FENCE_KEYS: u8 = 17;

/// Writes the fence once in a store's life (a store made or reset since has none).
fn ensure_fence(index: &sled::Tree) -> sled::Result<()> {
    if index.get([FENCE, FENCE_KEYS - 1])?.is_none() {
        for i in 0..FENCE_KEYS {
            index.insert([FENCE, i], &[][..])?;
        }
    }
    Ok(())
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

/// Moves the loose entries there are into their blocks, cutting blocks at `max` bytes;
/// returns how many it moved. The caller makes sure one pack runs at a time (blocks are only
/// changed here).
///
/// Without holding sled's lock over the loose entries: a round writes the entries' texts as
/// it read them into their blocks (one short transaction over the blocks), then removes each
/// entry only if it is still what it read (a compare-and-swap). Between the two, or after a
/// crash there, the entry and its copy in the block say the same, and the entry wins anyway;
/// an entry a contact write changed meanwhile stays, and overrides the block until a later
/// pack.
pub(crate) fn pack(index: &sled::Tree, max: usize) -> Result<u64, ContactError> {
    ensure_fence(index)?;
    let mut moved = 0;
    let mut from = vec![index::SEARCH];
    loop {
        let loose: Vec<Loose> = index
            .range(from.clone()..index::SEARCH_END.to_vec())
            .take(ROUND)
            .collect::<Result<_, _>>()?;
        let Some((last, _)) = loose.last() else {
            return Ok(moved);
        };
        // Entries written behind this point wait for the next pack: a pack always ends.
        from = last.to_vec();
        from.push(0);
        // The loose entries grouped by home block (ids ascending, so blocks ascending too).
        let mut groups: Vec<(Option<IVec>, &[Loose])> = Vec::new();
        let mut rest = &loose[..];
        while let Some((key, _)) = rest.first() {
            let home = home(index, &key[1..])?;
            let until = match &home {
                Some(k) => next_block(index, k)?,
                None => None,
            };
            let n = rest
                .iter()
                .take_while(|(k, _)| until.as_ref().is_none_or(|u| u[1..] > k[1..]))
                .count();
            groups.push((home, &rest[..n]));
            rest = &rest[n..];
        }
        txn::transaction(&[index], |views| -> TxResult<()> {
            groups
                .iter()
                .try_for_each(|(home, loose)| merge(&views[0], home.as_deref(), loose, max))
        })?;
        for (key, texts) in &loose {
            // Err: a contact write changed it meanwhile; it stays and wins.
            let _ = index.compare_and_swap(key, Some(texts), None as Option<&[u8]>)?;
        }
        moved += loose.len() as u64;
    }
}

/// Rewrites the block `home` (a new one when `None`) with the loose entries applied.
fn merge(tx: &TxTree<'_>, home: Option<&[u8]>, loose: &[Loose], max: usize) -> TxResult<()> {
    rewrite(tx, home, max, |records| {
        for (key, texts) in loose {
            let id: [u8; 16] = key[1..].try_into().unwrap_or_default();
            match records.binary_search_by(|(have, _)| have.cmp(&id)) {
                Ok(i) if texts.as_ref() == TOMBSTONE => drop(records.remove(i)),
                Ok(i) => records[i].1 = texts.to_vec(),
                Err(_) if texts.as_ref() == TOMBSTONE => {}
                Err(i) => records.insert(i, (id, texts.to_vec())),
            }
        }
        Ok(())
    })
    .map(drop)
}

/// A loose entry as a pack read it: key and texts (or tombstone).
type Loose = (IVec, IVec);

type TxResult<T> = Result<T, ConflictableTransactionError<ContactError>>;

/// Replaces the block `home` (none: a new one) by the blocks of its records after `change`;
/// returns their first ids.
fn rewrite(
    tx: &TxTree<'_>,
    home: Option<&[u8]>,
    max: usize,
    change: impl FnOnce(&mut Vec<Record>) -> TxResult<()>,
) -> TxResult<Vec<[u8; 16]>> {
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
    change(&mut records)?;
    let mut firsts = Vec::new();
    for (key, value) in blocks(&records, max) {
        firsts.push(key[1..].try_into().expect("16 id bytes"));
        tx.insert(key, value)?;
    }
    Ok(firsts)
}

/// The first ids of every block, in order: where new texts go, known without a range read
/// (which a transaction cannot do), as long as the caller holds the packing lock.
pub(crate) type Layout = Vec<[u8; 16]>;

/// The blocks' first ids as they are now.
pub(crate) fn layout(index: &sled::Tree) -> sled::Result<Layout> {
    index
        .range(vec![PACKED]..vec![PACKED + 1])
        .keys()
        .map(|k| Ok(k?[1..].try_into().unwrap_or_default()))
        .collect()
}

/// Writes the texts of new contacts straight into their blocks (an import), given the blocks
/// as `layout`; returns the layout after. A contact with a loose entry (a tombstone of a
/// deleted contact of the same id) gets a loose entry instead, which overrides it as usual.
pub(crate) fn place(
    tx: &TxTree<'_>,
    mut fresh: Vec<Record>,
    layout: &Layout,
    max: usize,
) -> TxResult<Layout> {
    fresh.sort_unstable_by_key(|r| r.0);
    let mut placed = Vec::with_capacity(fresh.len());
    for (id, texts) in fresh {
        let key = index::search_key(&id);
        if tx.get(&key)?.is_some() {
            tx.insert(key, texts)?;
        } else {
            placed.push((id, texts));
        }
    }
    // The block each belongs in: the last starting at or before it, else the first.
    let home = |id: &[u8; 16]| layout.partition_point(|first| first <= id).max(1) - 1;
    let (mut gone, mut added) = (Vec::new(), Vec::new());
    let mut rest = &placed[..];
    while let Some((id, _)) = rest.first() {
        let h = home(id);
        let n = rest.iter().take_while(|(id, _)| home(id) == h).count();
        let (group, tail) = rest.split_at(n);
        rest = tail;
        let key = layout.get(h).map(|first| block_key(first));
        let firsts = rewrite(tx, key.as_deref(), max, |records| {
            records.extend_from_slice(group);
            records.sort_unstable_by_key(|r| r.0);
            Ok(())
        })?;
        gone.extend(layout.get(h));
        added.extend(firsts);
    }
    let kept = layout.iter().filter(|first| !gone.contains(first));
    let mut after: Layout = kept.copied().chain(added).collect();
    after.sort_unstable();
    after.dedup();
    Ok(after)
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
