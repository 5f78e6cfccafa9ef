//! The `requests_index` tree: logged requests by workflow and by status, as posting lists (see
//! [`super::posting`]), so `GET /api/requests?workflow=…&status=…` reads only those requests.
//!
//! Keys (values are empty): `s ++ status ++ 0x00 ++ request id` and
//! `w ++ workflow ++ 0x00 ++ request id`; `v` marks the layout, and a tree without it is
//! rebuilt from the request log when the store opens. A request's workflow and status never
//! change once it is logged, so entries are only added (with the record) and removed (with it).

use super::index_tree::{self, Postings};
use super::posting::IndexWrite;
use serde::Deserialize;
use sled::transaction::UnabortableTransactionError;
use std::borrow::Cow;

/// The tree's name.
pub(crate) const TREE: &str = "requests_index";
/// Its layout version.
const VERSION: &[u8] = b"1";

/// What of a request the index holds.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RequestKeys<'a> {
    /// The request's id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Its workflow.
    #[serde(borrow)]
    pub workflow: Cow<'a, str>,
    /// Its status (`accepted`, `rejected`, …).
    #[serde(borrow)]
    pub status: Cow<'a, str>,
}

impl<'a> RequestKeys<'a> {
    /// The indexed fields of a request.
    pub(crate) fn of(id: &'a str, workflow: &'a str, status: &'a str) -> Self {
        Self {
            id: Cow::Borrowed(id),
            workflow: Cow::Borrowed(workflow),
            status: Cow::Borrowed(status),
        }
    }
}

impl Postings for RequestKeys<'_> {
    fn id(&self) -> &str {
        &self.id
    }
    fn lists(&self) -> Vec<(u8, &str)> {
        vec![(b's', &self.status), (b'w', &self.workflow)]
    }
}

/// Adds a logged request's entries, in the same atomic write as the record when there is one.
pub(crate) fn add<W: IndexWrite + ?Sized>(
    index: &W,
    request: &RequestKeys<'_>,
) -> Result<(), UnabortableTransactionError> {
    index_tree::update(index, None, Some(request))
}

/// Adds a logged request's entries outside a transaction (the rejected log's plain writes).
pub(crate) fn add_plain(index: &sled::Tree, request: &RequestKeys<'_>) -> sled::Result<()> {
    for (key, value) in index_tree::entries(request) {
        index.insert(key, value)?;
    }
    Ok(())
}

/// Reads the indexed fields of a stored request record (the rest is skipped).
pub(crate) fn decode_keys(bytes: &[u8]) -> super::StoreResult<RequestKeys<'static>> {
    let corrupt = |message: String| super::StoreError::Corrupt {
        tree: "requests",
        message,
    };
    let json = super::codec::json_of(bytes).map_err(corrupt)?;
    let keys: RequestKeys<'_> =
        serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))?;
    Ok(RequestKeys {
        id: Cow::Owned(keys.id.into_owned()),
        workflow: Cow::Owned(keys.workflow.into_owned()),
        status: Cow::Owned(keys.status.into_owned()),
    })
}

/// Removes a request's entries (the request was dropped from the log).
pub(crate) fn remove(index: &sled::Tree, request: &RequestKeys<'_>) -> sled::Result<()> {
    for (key, _) in index_tree::entries(request) {
        index.remove(key)?;
    }
    Ok(())
}

/// Removes a request's entries inside the caller's transaction (retention).
pub(crate) fn remove_tx<W: IndexWrite + ?Sized>(
    index: &W,
    request: &RequestKeys<'_>,
) -> Result<(), UnabortableTransactionError> {
    index_tree::update(index, Some(request), None)
}

/// The lists a request filter selects; empty when it selects every request.
pub(crate) fn lists(workflow: Option<&str>, status: Option<&str>) -> Vec<Vec<u8>> {
    index_tree::selected(&[(b's', status), (b'w', workflow)])
}

/// Empties the index, leaving it marked as current (`hookflow reset`).
pub(crate) fn clear(index: &sled::Tree) -> sled::Result<()> {
    index_tree::clear(index, VERSION)
}

/// Builds the index from the request log when it is missing or of another layout; returns how
/// many requests were indexed, `None` when it was current.
pub(crate) fn ensure(requests: &sled::Tree, index: &sled::Tree) -> super::StoreResult<Option<u64>> {
    index_tree::rebuild(requests, index, VERSION, |_, bytes| {
        Ok(index_tree::entries(&decode_keys(bytes)?))
    })
}

#[cfg(test)]
mod tests {
    use crate::store::requests::RequestRecord;
    use crate::store::test_fixtures::rejected_request;
    use crate::store::Store;

    fn rejected(id: &str, workflow: &str) -> RequestRecord {
        rejected_request(id, workflow, "2026-12-01T00:00:00Z".into())
    }

    fn ids(store: &Store, workflow: Option<&str>, status: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .requests(workflow, status, cursor.as_deref(), 2)
                .unwrap();
            out.extend(page.items.into_iter().map(|r| r.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    }

    #[test]
    fn a_filtered_request_list_reads_only_the_requests_its_index_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, wf) in [
            ("01A", "a"),
            ("01B", "b"),
            ("01C", "a"),
            ("01D", "a"),
            ("01E", "b"),
        ] {
            store.log_rejected(rejected(id, wf)).unwrap();
        }
        // A newer record no list names: a scan would stop on it, an index walk never reads it.
        store
            .trees
            .requests
            .insert("01Z", &b"{not json"[..])
            .unwrap();
        assert_eq!(ids(&store, Some("a"), None), ["01D", "01C", "01A"]);
        assert_eq!(ids(&store, Some("b"), Some("rejected")), ["01E", "01B"]);
        assert!(ids(&store, Some("a"), Some("accepted")).is_empty());
    }

    #[test]
    fn a_store_without_the_requests_index_builds_it_when_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.log_rejected(rejected("01A", "a")).unwrap();
        store.log_rejected(rejected("01B", "b")).unwrap();
        // What an older hookflow leaves: the log without its index (a tree with no layout mark).
        store.trees.requests_index.clear().unwrap();
        assert!(ids(&store, Some("b"), None).is_empty());
        let built = super::ensure(&store.trees.requests, &store.trees.requests_index).unwrap();
        assert_eq!(built, Some(2));
        assert_eq!(ids(&store, Some("b"), None), ["01B"]);
        assert_eq!(ids(&store, None, Some("rejected")), ["01B", "01A"]);
    }

    #[test]
    fn requests_trimmed_from_the_rejected_log_leave_the_index_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let total = crate::store::requests::MAX_REJECTED + 3;
        for n in 0..total {
            store
                .log_rejected(rejected(&format!("01{n:08}"), "a"))
                .unwrap();
        }
        let listed = ids(&store, Some("a"), Some("rejected"));
        assert_eq!(listed.len() as u64, crate::store::requests::MAX_REJECTED);
        assert_eq!(listed.last().unwrap(), "0100000003");
        let entries = store.trees.requests_index.scan_prefix(b"wa\0").count() as u64;
        assert_eq!(entries, crate::store::requests::MAX_REJECTED);
    }
}
