//! The `contacts_index` tree: a contact's tags and the trigrams of its names and email, as
//! posting lists (see [`crate::store::posting`]), so `?tag=` and a name `?q=` page without
//! reading every contact.
//!
//! Keys (values are empty; an id is the ULID's 16 bytes, which sort like the text form):
//! - `t ++ lowercase tag ++ 0x00 ++ id` — tags hold no control characters, so 0x00 ends one;
//! - `g ++ trigram ++ id` — every three-character window of the lowercased first name, last
//!   name, full name and email (the fields `?q=` searches), so a `q` of three characters or more
//!   is in a contact only if all of `q`'s trigrams are in its lists. The walk verifies each
//!   candidate against the real filter (a trigram match is necessary, not sufficient);
//! - `v` — the layout version; a tree without it (a data dir from before the index, or an
//!   older layout) is rebuilt when the store opens.
//!
//! Why trigrams and not a per-contact search string scanned newest first: a common name fills a
//! page from either in a few milliseconds, but a rare one makes the scan read every contact's
//! key (about 0.4 s for a million), while the trigram lists are short exactly when the name is
//! rare. The price is disk: ~30 keys of ~20 bytes per contact (figures in the README).
//! A `q` of one or two characters has no trigram; it scans, and only a rare one is slow.
//!
//! Every write of a contact goes through [`super::ContactTx`], which updates these keys in the
//! same transaction, so the index is never behind the contacts it describes.

use crate::domain::contact::Contact;
use crate::store::posting::{apply_diff, IndexWrite};
use sled::transaction::UnabortableTransactionError;

/// The tree's name.
pub(crate) const TREE: &str = "contacts_index";
/// The marker key, and the layout it stands for.
const VERSION_KEY: &[u8] = b"v";
const VERSION: &[u8] = b"1";
/// Contacts per batch when the index is rebuilt.
const REBUILD_BATCH: u64 = 2_000;

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

/// The list of contacts whose searched text holds `gram` (three characters).
pub(crate) fn gram_prefix(gram: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(gram.len() + 1);
    key.push(b'g');
    key.extend_from_slice(gram.as_bytes());
    key
}

/// The distinct trigrams of `text` (already lowercased), in no particular order.
pub(crate) fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The texts `?q=` matches in, lowercased: first, last, full name and email.
pub(crate) fn searched_texts(c: &Contact) -> [String; 4] {
    let first = c.first_name.as_deref().unwrap_or("");
    let last = c.last_name.as_deref().unwrap_or("");
    let full = format!("{first} {last}");
    let email = c.email.as_ref().map(|e| e.as_str()).unwrap_or("");
    [first, last, full.trim(), email].map(str::to_lowercase)
}

/// Every index key of `c`, sorted and distinct (none for a contact without a ULID id).
pub(crate) fn keys(c: &Contact) -> Vec<Vec<u8>> {
    let Some(id) = id_bytes(&c.id) else {
        return Vec::new();
    };
    let mut keys: Vec<Vec<u8>> = c.tags.iter().map(|t| tag_prefix(&t.key())).collect();
    for text in searched_texts(c) {
        keys.extend(trigrams(&text).iter().map(|g| gram_prefix(g)));
    }
    for key in &mut keys {
        key.extend_from_slice(&id);
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Moves the index from `before`'s entries to `after`'s (either may be absent).
pub(crate) fn update<W: IndexWrite + ?Sized>(
    index: &W,
    before: Option<&Contact>,
    after: Option<&Contact>,
) -> Result<(), UnabortableTransactionError> {
    let old = before.map(keys).unwrap_or_default();
    let new = after.map(keys).unwrap_or_default();
    apply_diff(index, &old, &new)
}

/// Empties the index, leaving it marked as current (`hookflow reset`).
pub(crate) fn clear(index: &sled::Tree) -> sled::Result<()> {
    index.clear()?;
    index.insert(VERSION_KEY, VERSION)?;
    Ok(())
}

/// Builds the index from the contacts when it is missing or of another layout (a data dir
/// made before it existed); returns how many contacts were indexed, `None` when it was current.
pub(crate) fn ensure(contacts: &sled::Tree, index: &sled::Tree) -> Result<Option<u64>, String> {
    if index
        .get(VERSION_KEY)
        .map_err(|e| e.to_string())?
        .as_deref()
        == Some(VERSION)
    {
        return Ok(None);
    }
    index.clear().map_err(|e| e.to_string())?;
    let mut count = 0u64;
    let mut batch = std::cell::RefCell::new(sled::Batch::default());
    for item in contacts.iter() {
        let (key, bytes) = item.map_err(|e| e.to_string())?;
        let id = String::from_utf8_lossy(&key);
        let contact = super::tx::decode_contact(&id, &bytes).map_err(|e| e.to_string())?;
        update(&batch, None, Some(&contact)).map_err(|e| e.to_string())?;
        count += 1;
        if count.is_multiple_of(REBUILD_BATCH) {
            index.apply_batch(batch.take()).map_err(|e| e.to_string())?;
        }
    }
    batch.get_mut().insert(VERSION_KEY, VERSION);
    index.apply_batch(batch.take()).map_err(|e| e.to_string())?;
    Ok(Some(count))
}
