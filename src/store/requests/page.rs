//! A page of the request log: every request one committer round accepted, in one value.
//!
//! sled's cost is per key written, not per byte (a request record and its index entry each cost
//! about 10 µs of CPU, a whole round of 32 requests as one value about 5 µs in all), so the
//! committer writes a round's requests as one page under the key of its first (smallest) id.
//! Ids of one round all sort after those of the rounds before it (request ids are made under
//! the committer's admission gate, see [`crate::store::commit`]), so pages never overlap and a
//! request is found in the page with the greatest key at or below its id.
//!
//! Layout: `PAGE | count: u16 LE | count × (id length: u8, id, record length: u32 LE) | records`,
//! each record as [`super::stored::encode`] wrote it, ids ascending. A record on its own never
//! starts with [`PAGE`] (JSON starts with `{`, a compressed record with 0x01).

/// The first byte of a page.
const PAGE: u8 = 0x02;
/// Most requests in one page.
pub(crate) const MAX_REQUESTS: usize = 256;
/// Most record bytes in one page: a round past it is written as several pages.
pub(crate) const MAX_BYTES: usize = 64 * 1024;

/// Whether a value of the `requests` tree is a page (else it is one record).
pub(crate) fn is_page(bytes: &[u8]) -> bool {
    bytes.first() == Some(&PAGE)
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
    out
}

/// A page as read: its ids and where each record is.
pub(crate) struct Page<'a> {
    bytes: &'a [u8],
    /// Per request: its id and its record's range in `bytes`.
    entries: Vec<(&'a str, std::ops::Range<usize>)>,
}

impl<'a> Page<'a> {
    /// Reads a page's table of contents; an error names what is wrong.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let short = || "request page ends early".to_string();
        if !is_page(bytes) {
            return Err("not a request page".into());
        }
        let count = u16::from_le_bytes(bytes.get(1..3).ok_or_else(short)?.try_into().unwrap());
        let mut at = 3;
        let mut heads = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = *bytes.get(at).ok_or_else(short)? as usize;
            let id = bytes.get(at + 1..at + 1 + len).ok_or_else(short)?;
            let id = std::str::from_utf8(id).map_err(|_| "request page: an id is not UTF-8")?;
            let size = bytes.get(at + 1 + len..at + 5 + len).ok_or_else(short)?;
            heads.push((id, u32::from_le_bytes(size.try_into().unwrap()) as usize));
            at += 5 + len;
        }
        let mut entries = Vec::with_capacity(heads.len());
        for (id, size) in heads {
            let range = at..at + size;
            bytes.get(range.clone()).ok_or_else(short)?;
            entries.push((id, range));
            at += size;
        }
        Ok(Self { bytes, entries })
    }

    /// The stored record of `id`, if this page holds it.
    pub(crate) fn find(&self, id: &str) -> Option<&'a [u8]> {
        let i = self.entries.binary_search_by(|(e, _)| (*e).cmp(id)).ok()?;
        Some(&self.bytes[self.entries[i].1.clone()])
    }

    /// Its requests, ids ascending, as `(id, stored record)`.
    pub(crate) fn requests(&self) -> impl DoubleEndedIterator<Item = (&'a str, &'a [u8])> + '_ {
        self.entries
            .iter()
            .map(|(id, range)| (*id, &self.bytes[range.clone()]))
    }

    /// Its newest (greatest) id.
    pub(crate) fn last_id(&self) -> Option<&'a str> {
        self.entries.last().map(|(id, _)| *id)
    }
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
        for cut in 1..bytes.len() {
            assert!(Page::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(Page::parse(b"{}").is_err());
    }
}
