//! The `contacts_index` tree: a contact's tags as posting lists (see
//! [`crate::store::posting`]) and its search texts, so `?tag=` and a name `?q=` page without
//! reading every contact.
//!
//! Entries (an id is the ULID's 16 bytes, which sort like the text form):
//! - `t ++ lowercase tag ++ 0x00 ++ id` → empty — tags hold no control characters, so 0x00
//!   ends one; `?tag=` (several: AND) walks these lists newest first;
//! - `p ++ first id` → a packed block of many contacts' search texts (the lowercased first
//!   name, last name, full name and email), and `s ++ id` → one contact's texts written since
//!   the last pack (or a tombstone): see [`super::packed`]. A name `q` walks both newest first
//!   with a SIMD substring search and reads only the contacts that match;
//! - `v` — the layout version; a tree without it (a data dir from before the index, or an
//!   older layout) is rebuilt when the store opens.
//!
//! Why blocks and not a trigram index: a trigram posting per three-letter window is about 40
//! keys per contact; measured on 10,000 imported contacts it made the CSV import 13 times
//! slower (0.84 s → 10.8 s) and added 4.7 KB of disk per contact, because sled pays per key
//! written. Why blocks and not one entry per contact (layout 2): a `q` that few contacts hold
//! read every entry, and sled's iterator costs 1.5–3 µs an item: 1.5–3 s for a million
//! contacts. A block holds about 200 contacts' texts in one value.
//!
//! Every write of a contact goes through [`super::ContactTx`], which updates these entries in
//! the same transaction, so the index is never behind the contacts it describes.

use super::block::Builder;
use super::{packed, ContactError};
use crate::domain::contact::Contact;
use crate::store::index_tree;
use crate::store::posting::{Entry, IndexWrite};
use sled::transaction::UnabortableTransactionError;

/// The tree's name.
pub(crate) const TREE: &str = "contacts_index";
/// The layout of the index (see [`index_tree`] for the mark).
const VERSION: &[u8] = b"3";

/// A ULID contact id as its 16 sortable bytes; `None` for an id that is not one (ids are
/// canonical ULIDs by construction: `new_ulid`, or a CSV id checked to be one).
pub(crate) fn id_bytes(id: &str) -> Option<[u8; 16]> {
    ulid::Ulid::from_string(id)
        .ok()
        .map(|u| u128::from(u).to_be_bytes())
}

/// The text form of 16 id bytes read back from a key.
pub(crate) fn id_text(bytes: &[u8]) -> Option<String> {
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(ulid::Ulid::from(u128::from_be_bytes(bytes)).to_string())
}

/// The list of contacts having a tag (its lowercase key).
pub(crate) fn tag_prefix(tag_key: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(tag_key.len() + 2);
    key.push(b't');
    key.extend_from_slice(tag_key.as_bytes());
    key.push(0);
    key
}

/// The search entry of the contact with these id bytes.
pub(crate) fn search_key(id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(SEARCH);
    key.extend_from_slice(id);
    key
}

/// The first key after every search entry.
pub(crate) const SEARCH_END: &[u8] = &[SEARCH + 1];
/// The first byte of every search entry.
pub(crate) const SEARCH: u8 = b's';

/// The texts of a search entry, as [`searched_texts`] gives them.
pub(crate) fn split_texts(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|b| *b == 0)
}

/// The texts `?q=` matches in, lowercased: the full name and the email. The first and last
/// names need no texts of their own: `q` is trimmed, so whatever it finds in either it finds
/// in "first last" (stores made before 2026-12-04 also hold them, to the same effect), and a
/// name search reads every text of every contact.
pub(crate) fn searched_texts(c: &Contact) -> [String; 2] {
    let first = c.first_name.as_deref().unwrap_or("");
    let last = c.last_name.as_deref().unwrap_or("");
    let full = format!("{first} {last}");
    let email = c.email.as_ref().map(|e| e.as_str()).unwrap_or("");
    [full.trim(), email].map(str::to_lowercase)
}

/// The tag entries of `c`, sorted by key (none for a contact without a ULID id).
pub(crate) fn entries(c: &Contact) -> Vec<Entry> {
    let Some(id) = id_bytes(&c.id) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = c
        .tags
        .iter()
        .map(|t| {
            let mut key = tag_prefix(&t.key());
            key.extend_from_slice(&id);
            (key, Vec::new())
        })
        .collect();
    entries.sort_unstable();
    entries.dedup_by(|a, b| a.0 == b.0);
    entries
}

/// What a contact's search texts are stored as: [`searched_texts`] joined by 0x00.
pub(crate) fn texts(c: &Contact) -> Vec<u8> {
    searched_texts(c).join("\0").into_bytes()
}

/// Moves the tag lists from `before`'s tags to `after`'s (either may be absent).
pub(crate) fn update_tags<W: IndexWrite + ?Sized>(
    index: &W,
    before: Option<&Contact>,
    after: Option<&Contact>,
) -> Result<(), UnabortableTransactionError> {
    index_tree::update_with(index, before, after, entries)
}

/// Moves the index from `before`'s entries to `after`'s (either may be absent). The search
/// texts are written as a loose entry only when they change (a booking that leaves the name
/// and email alone writes nothing here); a deleted contact leaves a tombstone, which hides
/// its record in its block until the next pack drops both.
pub(crate) fn update<W: IndexWrite + ?Sized>(
    index: &W,
    before: Option<&Contact>,
    after: Option<&Contact>,
) -> Result<(), UnabortableTransactionError> {
    update_tags(index, before, after)?;
    let Some(id) = before.or(after).and_then(|c| id_bytes(&c.id)) else {
        return Ok(());
    };
    match (before.map(texts), after.map(texts)) {
        (before, Some(after)) if before.as_ref() != Some(&after) => {
            index.put(search_key(&id), after)
        }
        (Some(_), None) => index.put(search_key(&id), packed::TOMBSTONE.to_vec()),
        _ => Ok(()),
    }
}

/// Empties the index, leaving it marked as current (`hookflow reset`).
pub(crate) fn clear(index: &sled::Tree) -> sled::Result<()> {
    index_tree::clear(index, VERSION)
}

/// Builds the index from the contacts when it is missing or of another layout (a data dir
/// made before it existed); returns how many contacts were indexed, `None` when it was current.
/// The contacts come in id order, so their texts fill packed blocks one after another.
pub(crate) fn ensure(contacts: &sled::Tree, index: &sled::Tree) -> Result<Option<u64>, String> {
    let blocks = std::cell::RefCell::new(Builder::new(packed::BLOCK_BYTES));
    let each = |key: &[u8], bytes: &[u8], batch: &mut sled::Batch| {
        let c = super::tx::decode_contact(&String::from_utf8_lossy(key), bytes)?;
        for (key, value) in entries(&c) {
            batch.insert(key, value);
        }
        if let Some(id) = id_bytes(&c.id) {
            blocks
                .borrow_mut()
                .push((id, texts(&c)), |k, v| batch.insert(k, v));
        }
        Ok(())
    };
    let finish = |batch: &mut sled::Batch| {
        blocks
            .replace(Builder::new(0))
            .finish(|k, v| batch.insert(k, v));
        Ok(0)
    };
    index_tree::rebuild_into(contacts, index, VERSION, each, finish)
        // The caller says "contact store: " itself.
        .map_err(|e: ContactError| match e {
            ContactError::Store(message) => message,
            other => other.to_string(),
        })
}
