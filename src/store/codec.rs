//! Encoding of stored records, and newest-first pagination over ULID-keyed trees.
//!
//! A record is JSON, compressed with zstd against a dictionary built into hookflow
//! ([`DICT_V1`]: its own field names and the usual values around them), which is what makes
//! small records shrink: a booking's run takes under a third of its JSON, its request and
//! email about two fifths. Records written before compression are plain JSON and still read:
//! JSON never starts with [`COMPRESSED_V1`]. The dictionary is part of the format and never
//! changes. Once a store has learned its own ([`learned`]), its records are compressed against
//! that instead, under the same first byte: a zstd frame names the dictionary it needs (none:
//! the built-in one).

use super::{StoreError, StoreResult};
use serde::{de::DeserializeOwned, Serialize};
use std::cell::RefCell;
use std::sync::OnceLock;
use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

mod learned;
pub use learned::Learning;

/// The first byte of a record compressed against [`DICT_V1`].
const COMPRESSED_V1: u8 = 0x01;
/// The dictionary of [`COMPRESSED_V1`] records. Never edit it: records on disk need it as is.
const DICT_V1: &[u8] = include_bytes!("codec/dict_v1.txt");
/// Shorter JSON stays as it is: the frame would cost about what it saves.
const MIN_COMPRESSED: usize = 48;
/// A negative (fast) level: records are compressed inside the store's transactions, and at
/// these levels zstd leaves literals as they are instead of building a Huffman table for each
/// small record (the dictionary's matches do most of the work).
const LEVEL: i32 = -1;
/// The largest record a compressed frame may claim to hold (a corrupt one must not allocate
/// more).
const MAX_RECORD: u64 = 1 << 30;

fn cdict() -> &'static CDict<'static> {
    static DICT: OnceLock<CDict<'static>> = OnceLock::new();
    DICT.get_or_init(|| zstd_safe::create_cdict(DICT_V1, LEVEL))
}

fn ddict() -> &'static DDict<'static> {
    static DICT: OnceLock<DDict<'static>> = OnceLock::new();
    DICT.get_or_init(|| zstd_safe::create_ddict(DICT_V1))
}

thread_local! {
    // One context per thread, reused: making one per record is what made sled's own
    // compression slow.
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(zstd_safe::create_cctx());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(zstd_safe::create_dctx());
}

/// Serialises a record for storage.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    compress(serde_json::to_vec(value).expect("records always serialise"))
}

/// The stored form of a record's JSON: compressed when that makes it shorter.
pub fn compress(json: Vec<u8>) -> Vec<u8> {
    if json.len() < MIN_COMPRESSED {
        return json;
    }
    match compress_after(COMPRESSED_V1, &json) {
        Some(out) => out,
        None => json,
    }
}

/// `tag` followed by `bytes` compressed against [`DICT_V1`], when that is shorter than `bytes`
/// (for values that carry their own first byte, such as request pages).
pub(crate) fn compress_after(tag: u8, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; 1 + zstd_safe::compress_bound(bytes.len())];
    out[0] = tag;
    let own = learned::encoder(bytes);
    let dict = own.as_ref().map_or(cdict(), |e| &e.cdict);
    let written = CCTX.with(|c| {
        c.borrow_mut()
            .compress_using_cdict(&mut out[1..], bytes, dict)
    });
    match written {
        Ok(n) if 1 + n < bytes.len() => {
            out.truncate(1 + n);
            Some(out)
        }
        _ => None,
    }
}

/// The JSON of a stored record, whichever way it was stored.
pub fn json_of(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    match bytes.split_first() {
        Some((&COMPRESSED_V1, frame)) => decompress(frame).map(std::borrow::Cow::Owned),
        _ => Ok(std::borrow::Cow::Borrowed(bytes)),
    }
}

/// What [`compress_after`] compressed (`frame`: its output without the tag).
pub(crate) fn decompress(frame: &[u8]) -> Result<Vec<u8>, String> {
    let size = zstd_safe::get_frame_content_size(frame);
    if size > MAX_RECORD {
        return Err("compressed record has no readable size".to_string());
    }
    let mut out = Vec::with_capacity(size as usize);
    let read = match zstd_safe::get_dict_id_from_frame(frame) {
        0 => DCTX.with(|d| {
            d.borrow_mut()
                .decompress_using_ddict(&mut out, frame, ddict())
        }),
        id => {
            let Some(own) = learned::decoder(id) else {
                return Err(format!(
                    "compressed record needs dictionary {id}, which its store does not hold"
                ));
            };
            DCTX.with(|d| {
                d.borrow_mut()
                    .decompress_using_ddict(&mut out, frame, &own.ddict)
            })
        }
    };
    match read {
        Ok(n) if n as u64 == size => Ok(out),
        Ok(n) => Err(format!("compressed record holds {n} bytes, not {size}")),
        Err(code) => Err(format!(
            "compressed record does not decompress: {}",
            zstd_safe::get_error_name(code)
        )),
    }
}

/// Reads a stored record, naming the tree when it is corrupt.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> StoreResult<T> {
    let corrupt = |message: String| StoreError::Corrupt { tree, message };
    let json = json_of(bytes).map_err(corrupt)?;
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
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

#[cfg(test)]
mod tests;
