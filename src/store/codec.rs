//! JSON encoding of stored records and newest-first pagination over ULID-keyed trees.

use super::{StoreError, StoreResult};
use serde::{de::DeserializeOwned, Serialize};

/// Serialises a record for storage.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records always serialise")
}

/// Reads a stored record, naming the tree when it is corrupt.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        tree,
        message: e.to_string(),
    })
}

/// One page of a newest-first list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Walks `tree` newest first (ULID keys) from before `cursor`, keeping records `keep` accepts,
/// until `limit` are found. The cursor is the id of the last record returned.
pub fn page_newest_first<T: DeserializeOwned>(
    tree: &sled::Tree,
    name: &'static str,
    cursor: Option<&str>,
    limit: usize,
    mut keep: impl FnMut(&T) -> bool,
) -> StoreResult<Page<T>> {
    let iter = match cursor {
        Some(c) => tree.range(..c.as_bytes().to_vec()),
        None => tree.iter(),
    };
    let mut items = Vec::new();
    let mut last_key: Option<Vec<u8>> = None;
    let mut more = false;
    for kv in iter.rev() {
        let (k, v) = kv?;
        let record: T = decode(name, &v)?;
        if !keep(&record) {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        last_key = Some(k.to_vec());
        items.push(record);
    }
    let next_cursor = if more {
        last_key.map(|k| String::from_utf8_lossy(&k).into_owned())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
