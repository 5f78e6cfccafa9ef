//! A page of the request log: every request one committer round accepted, in one value.
//!
//! sled's cost is per key written, not per byte (a request record and its index entry each cost
//! about 10 µs of CPU, a whole round of 32 requests as one value about 5 µs in all), so the
//! committer writes a round's requests as one page under the key of its first (smallest) id.
//! Ids of one round all sort after those of the rounds before it (request ids are made under
//! the committer's admission gate, see [`crate::store::commit`]), so pages never overlap and a
//! request is found in the page with the greatest key at or below its id.
//!
//! Layout: `PAGE | body` or `PAGE_COMPRESSED | body compressed` (zstd against the records'
//! dictionary, [`crate::store::codec`]: one frame a page costs less CPU than one a record, and
//! the records of a round share most of their bytes). The body is `count: u16 LE | count × (id
//! length: u8, id, record length: u32 LE) | records`, ids ascending, each record its JSON as
//! [`super::stored::encode_json`] wrote it. A record on its own never starts with either tag
//! (JSON starts with `{`, a compressed record with 0x01).

use crate::store::codec;
use std::borrow::Cow;
use std::ops::Range;

/// The first byte of a page stored as it is.
const PAGE: u8 = 0x02;
/// The first byte of a compressed page.
const PAGE_COMPRESSED: u8 = 0x03;
/// Most requests in one page.
pub(crate) const MAX_REQUESTS: usize = 256;
/// Most record bytes in one page: a round past it is written as several pages.
pub(crate) const MAX_BYTES: usize = 64 * 1024;

/// Whether a value of the `requests` tree is a page (else it is one record).
pub(crate) fn is_page(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(&PAGE | &PAGE_COMPRESSED))
}

/// Writes a page of `(id, record)`, ids ascending; at most [`MAX_REQUESTS`] of them.
pub(crate) fn encode<'a>(requests: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let requests: Vec<_> = requests.collect();
    assert!(
        requests.len() <= MAX_REQUESTS,
        "a page holds at most {MAX_REQUESTS}"
    );
    let head: usize = requests.iter().map(|(id, _)| 5 + id.len()).sum();
    let body: usize = requests.iter().map(|(_, r)| r.len()).sum();
    let mut out = Vec::with_capacity(3 + head + body);
    out.push(PAGE);
    out.extend_from_slice(&(requests.len() as u16).to_le_bytes());
    for (id, record) in &requests {
        out.push(id.len() as u8);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    }
    for (_, record) in &requests {
        out.extend_from_slice(record);
    }
    codec::compress_after(PAGE_COMPRESSED, &out[1..]).unwrap_or(out)
}

/// Where a request's id and its record are in a page's body.
type Entry = (Range<usize>, Range<usize>);

/// A page as read: its ids and where each record is.
pub(crate) struct Page<'a> {
    body: Cow<'a, [u8]>,
    entries: Vec<Entry>,
}

impl<'a> Page<'a> {
    /// Opens a page (decompressing it if need be) and reads its table of contents; an error
    /// names what is wrong.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let body = match bytes.split_first() {
            Some((&PAGE, body)) => Cow::Borrowed(body),
            Some((&PAGE_COMPRESSED, frame)) => {
                Cow::Owned(codec::decompress(frame).map_err(|e| format!("request page: {e}"))?)
            }
            _ => return Err("not a request page".into()),
        };
        let entries = contents(&body)?;
        Ok(Self { body, entries })
    }

    fn id(&self, range: &Range<usize>) -> &str {
        std::str::from_utf8(&self.body[range.clone()]).expect("checked by `contents`")
    }

    /// The stored record of `id`, if this page holds it.
    pub(crate) fn find(&self, id: &str) -> Option<&[u8]> {
        let i = self
            .entries
            .binary_search_by(|(at, _)| self.id(at).cmp(id))
            .ok()?;
        Some(&self.body[self.entries[i].1.clone()])
    }

    /// Its requests, ids ascending, as `(id, stored record)`.
    pub(crate) fn requests(&self) -> impl DoubleEndedIterator<Item = (&str, &[u8])> + '_ {
        self.entries
            .iter()
            .map(|(id, record)| (self.id(id), &self.body[record.clone()]))
    }

    /// Its newest (greatest) id.
    pub(crate) fn last_id(&self) -> Option<&str> {
        self.entries.last().map(|(id, _)| self.id(id))
    }
}

/// Where each id and record of a page's body is.
fn contents(body: &[u8]) -> Result<Vec<Entry>, String> {
    let short = || "request page ends early".to_string();
    let count = u16::from_le_bytes(body.get(0..2).ok_or_else(short)?.try_into().unwrap());
    let mut at = 2;
    let mut heads = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = *body.get(at).ok_or_else(short)? as usize;
        let id = at + 1..at + 1 + len;
        std::str::from_utf8(body.get(id.clone()).ok_or_else(short)?)
            .map_err(|_| "request page: an id is not UTF-8")?;
        let size = body.get(id.end..id.end + 4).ok_or_else(short)?;
        heads.push((
            id.clone(),
            u32::from_le_bytes(size.try_into().unwrap()) as usize,
        ));
        at = id.end + 4;
    }
    let mut entries = Vec::with_capacity(heads.len());
    for (id, size) in heads {
        let record = at..at + size;
        body.get(record.clone()).ok_or_else(short)?;
        entries.push((id, record));
        at += size;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_finds_each_of_its_records_by_id_and_lists_them_in_order() {
        let records: Vec<(String, Vec<u8>)> = (0..40)
            .map(|i| (format!("01J{i:03}"), vec![b'{'; i * 7]))
            .collect();
        let bytes = encode(records.iter().map(|(id, r)| (id.as_str(), r.as_slice())));
        assert!(is_page(&bytes));
        // These records repeat themselves: the page is stored compressed.
        let raw: usize = records.iter().map(|(id, r)| 5 + id.len() + r.len()).sum();
        assert_eq!(bytes[0], PAGE_COMPRESSED);
        assert!(bytes.len() < raw / 4, "{} of {raw}", bytes.len());
        let page = Page::parse(&bytes).unwrap();
        for (id, record) in &records {
            assert_eq!(page.find(id), Some(record.as_slice()), "{id}");
        }
        assert_eq!(page.find("01J0005"), None);
        let ids: Vec<&str> = page.requests().map(|(id, _)| id).collect();
        assert_eq!(
            ids,
            records
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(page.last_id(), Some("01J039"));
    }

    #[test]
    fn a_cut_page_is_an_error_not_a_panic() {
        let bytes = encode([("01A", &b"{}"[..]), ("01B", &b"{\"a\":1}"[..])].into_iter());
        assert_eq!(bytes[0], PAGE, "too short to gain from compression");
        let long = vec![b'{'; 4000];
        let compressed = encode([("01A", &long[..]), ("01B", &long[..])].into_iter());
        assert_eq!(compressed[0], PAGE_COMPRESSED);
        for bytes in [bytes, compressed] {
            for cut in 1..bytes.len() {
                assert!(Page::parse(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
        assert!(Page::parse(b"{}").is_err());
    }
}
