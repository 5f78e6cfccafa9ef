//! Reading the request log: one request by id, and all of them newest first.
//!
//! The log is two trees: `requests`, the pages the committer writes (see [`super::page`]; a
//! store from before pages also has one record per key there, all older than any page), and
//! `requests_rejected`, the rejected requests, each on its own. Both are keyed by ULID.

use super::page::{self, Page};
use crate::store::{StoreError, StoreResult, Trees};

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        tree: "requests",
        message,
    }
}

/// The stored record of request `id`, wherever it is.
pub(crate) fn stored(trees: &Trees, id: &str) -> StoreResult<Option<Vec<u8>>> {
    if let Some(bytes) = trees.requests_rejected.get(id.as_bytes())? {
        return Ok(Some(bytes.to_vec()));
    }
    // Pages never overlap: the only one that can hold `id` is the last one keyed at or below
    // it, and a record on its own is found under its own key.
    let Some((key, bytes)) = trees
        .requests
        .range(..=id.as_bytes())
        .next_back()
        .transpose()?
    else {
        return Ok(None);
    };
    if page::is_page(&bytes) {
        let page = Page::parse(&bytes).map_err(corrupt)?;
        return Ok(page.find(id).map(<[u8]>::to_vec));
    }
    Ok((key.as_ref() == id.as_bytes()).then(|| bytes.to_vec()))
}

/// Every logged request strictly below a cursor, newest first, as `(id, stored record)`: the
/// pages (opened one at a time) merged with the rejected requests.
pub(crate) struct NewestFirst {
    log: std::iter::Rev<sled::Iter>,
    rejected: std::iter::Peekable<std::iter::Rev<sled::Iter>>,
    /// Requests of the page read last, below the cursor, ascending: the newest is last.
    opened: Vec<(String, Vec<u8>)>,
    below: Option<String>,
    failed: bool,
}

impl NewestFirst {
    pub(crate) fn new(trees: &Trees, below: Option<&str>) -> Self {
        let (log, rejected) = match below {
            // A page keyed below the cursor may hold newer requests: they are skipped as it
            // is opened. One keyed at or above it holds none below it.
            Some(c) => (
                trees.requests.range(..c.as_bytes().to_vec()),
                trees.requests_rejected.range(..c.as_bytes().to_vec()),
            ),
            None => (trees.requests.iter(), trees.requests_rejected.iter()),
        };
        Self {
            log: log.rev(),
            rejected: rejected.rev().peekable(),
            opened: Vec::new(),
            below: below.map(str::to_string),
            failed: false,
        }
    }

    /// Opens log entries until one has a request below the cursor (or the log ends).
    fn fill(&mut self) -> StoreResult<()> {
        while self.opened.is_empty() {
            let Some((key, bytes)) = self.log.next().transpose()? else {
                return Ok(());
            };
            if page::is_page(&bytes) {
                let page = Page::parse(&bytes).map_err(corrupt)?;
                self.opened = page
                    .requests()
                    .filter(|(id, _)| self.below.as_deref().is_none_or(|b| *id < b))
                    .map(|(id, record)| (id.to_string(), record.to_vec()))
                    .collect();
            } else {
                let id = String::from_utf8_lossy(&key).into_owned();
                self.opened.push((id, bytes.to_vec()));
            }
        }
        Ok(())
    }

    fn step(&mut self) -> StoreResult<Option<(String, Vec<u8>)>> {
        self.fill()?;
        let rejected_newer = match (self.rejected.peek(), self.opened.last()) {
            (Some(Ok((key, _))), Some((id, _))) => key.as_ref() > id.as_bytes(),
            (Some(_), _) => true,
            (None, _) => false,
        };
        if rejected_newer {
            let (key, bytes) = self.rejected.next().expect("peeked")?;
            return Ok(Some((
                String::from_utf8_lossy(&key).into_owned(),
                bytes.to_vec(),
            )));
        }
        Ok(self.opened.pop())
    }
}

impl Iterator for NewestFirst {
    type Item = StoreResult<(String, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.step().transpose();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}
