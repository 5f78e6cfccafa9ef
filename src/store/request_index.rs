//! The `requests_index` tree: logged requests by workflow and status, as posting lists (see
//! [`super::posting`]), so `GET /api/requests?workflow=…&status=…` reads only those requests.
//!
//! A request written on its own (a rejected one, or one logged before request pages) has one
//! key with an empty value: `c ++ workflow ++ 0x00 ++ status ++ 0x00 ++ id`. A page of the
//! request log (see [`super::requests::page`]) has one key per list it has requests on, ending
//! in the page's first id, whose value holds those requests' ids (each `length: u8 ++ id`,
//! ascending): the committer writes a few index entries a round, not one a request. Pages never
//! overlap, so a list read newest first by key gives its ids newest first. A filter on both
//! reads one list; on a workflow, that workflow's lists (one per status) merged newest first;
//! on a status, that status's list of every workflow in the tree, merged. `v` marks the layout
//! (`1` was a list by status plus one by workflow), and a tree of another layout is rebuilt
//! from the request log when the store opens. A request's workflow and status never change once
//! it is logged, so entries are only added (with the record) and removed (with it).

use super::index_tree;
use super::posting::IndexWrite;
use super::requests::{page, ItemStatus};
use serde::Deserialize;
use sled::transaction::UnabortableTransactionError;
use std::borrow::Cow;

/// The tree's name.
pub(crate) const TREE: &str = "requests_index";
/// Its layout version.
const VERSION: &[u8] = b"2";
/// The first byte of every entry.
const ENTRY: u8 = b'c';
/// Every status a logged request can have: a workflow's lists.
const STATUSES: [ItemStatus; 5] = [
    ItemStatus::Accepted,
    ItemStatus::Filtered,
    ItemStatus::Duplicate,
    ItemStatus::Captured,
    ItemStatus::Rejected,
];

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

impl RequestKeys<'_> {
    fn key(&self) -> Vec<u8> {
        let mut key = list(&self.workflow, &self.status);
        key.extend_from_slice(self.id.as_bytes());
        key
    }
}

/// The prefix of one workflow's list of one status.
fn list(workflow: &str, status: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(workflow.len() + status.len() + 29);
    key.push(ENTRY);
    key.extend_from_slice(workflow.as_bytes());
    key.push(0);
    key.extend_from_slice(status.as_bytes());
    key.push(0);
    key
}

/// The index entries of a request page whose first id is `first`: one per list it has
/// requests on, each holding those requests' ids.
pub(crate) fn page_entries<'k>(
    first: &str,
    requests: impl IntoIterator<Item = RequestKeys<'k>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut lists: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
    for request in requests {
        let ids = lists
            .entry(list(&request.workflow, &request.status))
            .or_default();
        ids.push(request.id.len() as u8);
        ids.extend_from_slice(request.id.as_bytes());
    }
    lists
        .into_iter()
        .map(|(mut key, ids)| {
            key.extend_from_slice(first.as_bytes());
            (key, ids)
        })
        .collect()
}

/// The ids a page entry's value holds, ascending.
fn page_ids(value: &[u8]) -> Vec<Vec<u8>> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some((&len, tail)) = rest.split_first() {
        let len = (len as usize).min(tail.len());
        ids.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    ids
}

/// Adds a logged request's entry outside a transaction (the rejected log's plain writes).
pub(crate) fn add_plain(index: &sled::Tree, request: &RequestKeys<'_>) -> sled::Result<()> {
    index.insert(request.key(), &[][..])?;
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

/// Removes a request's entry (the request was dropped from the log).
pub(crate) fn remove(index: &sled::Tree, request: &RequestKeys<'_>) -> sled::Result<()> {
    index.remove(request.key())?;
    Ok(())
}

/// Removes a request's entry inside the caller's transaction (retention).
pub(crate) fn remove_tx<W: IndexWrite + ?Sized>(
    index: &W,
    request: &RequestKeys<'_>,
) -> Result<(), UnabortableTransactionError> {
    index.del(request.key())
}

/// The lists a filter on `workflow` and/or `status` reads (at least one of them is given).
pub(crate) fn lists(
    index: &sled::Tree,
    workflow: Option<&str>,
    status: Option<&str>,
) -> sled::Result<Vec<Vec<u8>>> {
    Ok(match (workflow, status) {
        (Some(w), Some(s)) => vec![list(w, s)],
        (Some(w), None) => STATUSES.iter().map(|s| list(w, s.as_str())).collect(),
        (None, Some(s)) => workflows(index)?
            .iter()
            .map(|w| list(&String::from_utf8_lossy(w), s))
            .collect(),
        (None, None) => Vec::new(),
    })
}

/// The workflows that have entries: one seek per workflow, skipping over its entries.
fn workflows(index: &sled::Tree) -> sled::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut from = vec![ENTRY];
    while let Some((key, _)) = index.range(from.clone()..).next().transpose()? {
        if key.first() != Some(&ENTRY) {
            break;
        }
        let name = &key[1..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        out.push(name.to_vec());
        from = [&[ENTRY], name, &[1]].concat();
    }
    Ok(out)
}

/// The ids under any of several lists (a request is in one list only), newest first, strictly
/// below a cursor: each list's newest ids not yet returned are kept (an entry's ids: one for a
/// request on its own, a page's for a page entry), the newest of them is the next id, and only
/// its list moves on.
pub(crate) struct Union<'a> {
    tree: &'a sled::Tree,
    heads: Vec<Head>,
    started: bool,
    below: Option<Vec<u8>>,
}

/// One list's place in a [`Union`].
struct Head {
    prefix: Vec<u8>,
    /// Ids of the entry read last, below the cursor, ascending: the newest is last.
    ids: Vec<Vec<u8>>,
    /// The key suffix of the entry read last: the next read is below it.
    read_below: Option<Vec<u8>>,
    /// The list has no entry left to read.
    done: bool,
}

impl<'a> Union<'a> {
    /// Ids in any list of `prefixes` below `below` (exclusive).
    pub(crate) fn new(
        tree: &'a sled::Tree,
        prefixes: Vec<Vec<u8>>,
        below: Option<Vec<u8>>,
    ) -> Self {
        let heads = prefixes
            .into_iter()
            .map(|prefix| Head {
                prefix,
                ids: Vec::new(),
                read_below: below.clone(),
                done: false,
            })
            .collect();
        Self {
            tree,
            heads,
            started: false,
            below,
        }
    }

    /// Reads entries of list `i`, newest first, until one has ids below the cursor or the list
    /// ends. An entry keyed below the cursor may still hold newer ids (a page starting below it).
    fn refill(&mut self, i: usize) -> sled::Result<()> {
        let head = &mut self.heads[i];
        while head.ids.is_empty() && !head.done {
            let last = match &head.read_below {
                None => self.tree.scan_prefix(&head.prefix).next_back(),
                Some(id) => self
                    .tree
                    .range(head.prefix.clone()..[&head.prefix[..], id].concat())
                    .next_back(),
            };
            let Some((key, value)) = last.transpose()? else {
                head.done = true;
                break;
            };
            let suffix = key[head.prefix.len()..].to_vec();
            head.ids = if value.is_empty() {
                vec![suffix.clone()]
            } else {
                page_ids(&value)
            };
            if let Some(below) = &self.below {
                head.ids.retain(|id| id < below);
            }
            head.read_below = Some(suffix);
        }
        Ok(())
    }

    fn step(&mut self) -> sled::Result<Option<Vec<u8>>> {
        if !self.started {
            self.started = true;
            for i in 0..self.heads.len() {
                self.refill(i)?;
            }
        }
        let newest = (0..self.heads.len())
            .filter(|&i| !self.heads[i].ids.is_empty())
            .max_by(|&a, &b| self.heads[a].ids.last().cmp(&self.heads[b].ids.last()));
        let Some(i) = newest else {
            return Ok(None);
        };
        let id = self.heads[i].ids.pop();
        self.refill(i)?;
        Ok(id)
    }
}

impl Iterator for Union<'_> {
    type Item = sled::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step().transpose()
    }
}

/// Empties the index, leaving it marked as current (`hookflow reset`).
pub(crate) fn clear(index: &sled::Tree) -> sled::Result<()> {
    index_tree::clear(index, VERSION)
}

/// Builds the index from the request log (its pages and the rejected requests) when it is
/// missing or of another layout; returns how many entries of the log were indexed, `None`
/// when it was current.
pub(crate) fn ensure(trees: &super::Trees) -> super::StoreResult<Option<u64>> {
    let rejected = |batch: &mut sled::Batch| {
        let mut count = 0;
        for kv in trees.requests_rejected.iter() {
            let (key, bytes) = kv?;
            for (key, value) in entries_of(&key, &bytes)? {
                batch.insert(key, value);
            }
            count += 1;
        }
        Ok(count)
    };
    let (log, index) = (&trees.requests, &trees.requests_index);
    index_tree::rebuild_and(log, index, VERSION, entries_of, rejected)
}

/// The index entries of one value of the request log (a page, or a record on its own).
pub(crate) fn entries_of(key: &[u8], bytes: &[u8]) -> super::StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
    if !page::is_page(bytes) {
        return Ok(vec![(decode_keys(bytes)?.key(), Vec::new())]);
    }
    let page = page::Page::parse(bytes).map_err(|message| super::StoreError::Corrupt {
        tree: "requests",
        message,
    })?;
    page_entries_of(key, &page)
}

/// The index entries of a page read already, stored under `key`.
pub(crate) fn page_entries_of(
    key: &[u8],
    page: &page::Page<'_>,
) -> super::StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let keys = page
        .requests()
        .map(|(_, record)| decode_keys(record))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_entries(&String::from_utf8_lossy(key), keys))
}

#[cfg(test)]
mod tests {
    use crate::store::requests::{ItemStatus, RequestRecord};
    use crate::store::test_fixtures::rejected_request;
    use crate::store::Store;

    fn rejected(id: &str, workflow: &str) -> RequestRecord {
        rejected_request(id, workflow, "2026-12-01T00:00:00Z".into())
    }

    fn ids(store: &Store, workflow: Option<&str>, status: Option<&str>) -> Vec<String> {
        crate::store::test_fixtures::request_ids(store, workflow, status, 2)
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
        let built = super::ensure(&store.trees).unwrap();
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
        let entries = store.trees.requests_index.scan_prefix(b"ca\0").count() as u64;
        assert_eq!(entries, crate::store::requests::MAX_REJECTED);
    }

    /// Logs a request of any status the way the rejected log does (record, then entry).
    fn log(store: &Store, id: &str, workflow: &str, status: ItemStatus) {
        let mut record = rejected(id, workflow);
        record.status = status;
        let bytes = crate::store::codec::encode(&record);
        store.trees.requests.insert(id, bytes).unwrap();
        let keys = super::RequestKeys::of(id, workflow, status.as_str());
        super::add_plain(&store.trees.requests_index, &keys).unwrap();
    }

    #[test]
    fn a_list_by_workflow_or_by_status_merges_its_lists_newest_first_one_entry_a_request() {
        use ItemStatus::{Accepted, Captured, Duplicate, Rejected};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, wf, status) in [
            ("01A", "a", Accepted),
            ("01B", "b", Accepted),
            ("01C", "a", Rejected),
            ("01D", "ab", Accepted),
            ("01E", "a", Duplicate),
            ("01F", "b", Captured),
            ("01G", "a", Accepted),
        ] {
            log(&store, id, wf, status);
        }
        // Pages of two: the cursor carries each list on from where the last page ended.
        assert_eq!(ids(&store, Some("a"), None), ["01G", "01E", "01C", "01A"]);
        assert_eq!(
            ids(&store, None, Some("accepted")),
            ["01G", "01D", "01B", "01A"]
        );
        assert_eq!(ids(&store, Some("a"), Some("accepted")), ["01G", "01A"]);
        assert_eq!(ids(&store, Some("b"), Some("captured")), ["01F"]);
        assert!(ids(&store, None, Some("filtered")).is_empty());
        assert!(ids(&store, Some("c"), None).is_empty());
        assert_eq!(
            store.trees.requests_index.len(),
            7 + 1,
            "one entry each, and the mark"
        );
    }

    #[test]
    fn an_index_of_the_two_list_layout_is_rebuilt_in_the_new_one_when_the_store_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        log(&store, "01A", "a", ItemStatus::Captured);
        log(&store, "01B", "b", ItemStatus::Rejected);
        // What hookflow wrote before: a list by status and one by workflow, marked `1`.
        let index = &store.trees.requests_index;
        index.clear().unwrap();
        for key in [
            "scaptured\x0001A",
            "wa\x0001A",
            "srejected\x0001B",
            "wb\x0001B",
        ] {
            index.insert(key, &[][..]).unwrap();
        }
        index.insert("v", "1").unwrap();
        let built = super::ensure(&store.trees).unwrap();
        assert_eq!(built, Some(2));
        assert_eq!(ids(&store, Some("a"), None), ["01A"]);
        assert_eq!(ids(&store, None, Some("rejected")), ["01B"]);
        let keys: Vec<_> = index.iter().keys().map(|k| k.unwrap().to_vec()).collect();
        assert_eq!(
            keys,
            [
                &b"ca\x00captured\x0001A"[..],
                b"cb\x00rejected\x0001B",
                b"v"
            ]
        );
        assert_eq!(super::ensure(&store.trees).unwrap(), None);
    }
}
