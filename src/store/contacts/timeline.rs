//! How a contact's timeline is stored in `contact_timeline`: one key per transaction that
//! changed the contact, `id ++ 0x00 ++ ulid`, so a contact's entries are one prefix in time order.
//!
//! A key's value is compressed JSON ([`codec::compress`]) holding either one entry (a JSON
//! object: every value written before entries were grouped, an import's first entry, and a
//! transaction's only entry) or several in the order they were made (a JSON array: a booking's
//! run makes the contact, updates it and tags it in one transaction). The first byte of the JSON
//! tells which, so a reader never guesses. Why group them: sled pays per key written (a leaf
//! copied, and a leaf split every few increasing keys) and each key costs its 53 bytes again on
//! disk, so a booking's three entries under one key cost one write instead of three.
//!
//! Crash safety is the contact's own: [`ContactTx`](super::ContactTx) writes the key in the same
//! transaction as the contact, and a later entry of that transaction rewrites the same key with
//! the longer list. The transaction keeps its writes until the commit, where only the last value
//! of a key is applied, so the contact and its whole list commit together or not at all; no
//! half-written list can exist.

use super::ContactError;
use crate::domain::contact::TimelineEntry;
use crate::store::codec;

/// `id ++ 0x00 ++ ulid`: a contact's keys are one prefix, in time order.
pub(crate) fn key(id: &str, ulid: &str) -> Vec<u8> {
    let mut key = prefix(id);
    key.extend_from_slice(ulid.as_bytes());
    key
}

/// The prefix of all of a contact's timeline keys.
pub(crate) fn prefix(id: &str) -> Vec<u8> {
    let mut key = id.as_bytes().to_vec();
    key.push(0);
    key
}

/// One entry's JSON object.
pub(super) fn entry_json(id: &str, entry: &TimelineEntry) -> Result<Vec<u8>, ContactError> {
    serde_json::to_vec(entry)
        .map_err(|e| ContactError::Store(format!("timeline of {id}: cannot encode: {e}")))
}

/// The stored value of one entry (its JSON object), as every value was before grouping.
pub(super) fn encode_one(json: Vec<u8>) -> Vec<u8> {
    codec::compress(json)
}

/// The stored value of several entries, given as their JSON objects joined by commas.
pub(super) fn encode_list(joined: &[u8]) -> Vec<u8> {
    let mut json = Vec::with_capacity(joined.len() + 2);
    json.push(b'[');
    json.extend_from_slice(joined);
    json.push(b']');
    codec::compress(json)
}

/// The entries' JSON objects joined by commas, from a stored value of either form (to add one).
pub(super) fn joined_json(stored: &[u8]) -> Result<Vec<u8>, String> {
    let json = codec::json_of(stored)?;
    let json = json.trim_ascii();
    match json.first() {
        Some(b'{') => Ok(json.to_vec()),
        Some(b'[') if json.ends_with(b"]") => Ok(json[1..json.len() - 1].trim_ascii().to_vec()),
        _ => Err(NEITHER.into()),
    }
}

/// The entries of a stored value, in order: an object is one entry, an array several.
pub(super) fn decode(stored: &[u8]) -> Result<Vec<TimelineEntry>, String> {
    let json = codec::json_of(stored)?;
    let json = json.trim_ascii();
    let read = match json.first() {
        Some(b'{') => serde_json::from_slice(json).map(|one| vec![one]),
        Some(b'[') => serde_json::from_slice(json),
        _ => return Err(NEITHER.into()),
    };
    read.map_err(|e| e.to_string())
}

const NEITHER: &str = "a timeline value is neither an entry (a JSON object) nor a list of them";
