//! The `runs_index` tree: runs by status, by workflow and by contact, as posting lists (see
//! [`super::posting`]), so `GET /api/runs?status=failed` reads the failed runs and not all runs.
//!
//! Keys (values are empty): `s ++ status ++ 0x00 ++ run id`, `w ++ workflow ++ 0x00 ++ run id`,
//! `c ++ contact id ++ 0x00 ++ run id` (workflow ids, contact ids and statuses hold no 0x00);
//! `v` marks the layout, and a tree without it is rebuilt from the runs when the store opens.
//!
//! Whoever writes a run record calls [`update`] in the same atomic write (a transaction, or a
//! batch through [`IndexWrite`]) with the record as it was and as it is now, so the index never
//! disagrees with the runs.

use super::codec::decode;
use super::index_tree::{self, Postings};
use super::posting::IndexWrite;
use super::runs::{RunFilter, RunRecord, RunStatus};
use serde::Deserialize;
use sled::transaction::UnabortableTransactionError;

/// The tree's name.
pub(crate) const TREE: &str = "runs_index";
/// Its layout version.
const VERSION: &[u8] = b"1";

/// What of a run the index holds: enough to find its old entries when it changes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunKeys {
    /// The run's id.
    pub id: String,
    /// Its workflow.
    pub workflow: String,
    /// Its status.
    pub status: RunStatus,
    /// Its contact, once a step found one.
    pub contact_id: Option<String>,
}

impl RunKeys {
    /// The indexed fields of `run`.
    pub fn of(run: &RunRecord) -> Self {
        Self {
            id: run.id.clone(),
            workflow: run.workflow.clone(),
            status: run.status,
            contact_id: run.contact_id.clone(),
        }
    }

    /// Reads the indexed fields of a stored run record (the rest is skipped, not built).
    pub fn decode(bytes: &[u8]) -> Result<Self, super::StoreError> {
        decode("runs", bytes)
    }
}

impl Postings for RunKeys {
    fn id(&self) -> &str {
        &self.id
    }
    fn lists(&self) -> Vec<(u8, &str)> {
        let mut lists = vec![(b's', self.status.as_str()), (b'w', &self.workflow)];
        if let Some(contact) = &self.contact_id {
            lists.push((b'c', contact));
        }
        lists
    }
}

/// Moves a run's index entries from `old` (the stored record; `None` for a new run) to `new`.
/// Call it in the same transaction or batch as the write of the run record.
pub fn update<W: IndexWrite + ?Sized>(
    index: &W,
    old: Option<&RunKeys>,
    new: &RunKeys,
) -> Result<(), UnabortableTransactionError> {
    index_tree::update(index, old, Some(new))
}

/// Removes a deleted run's entries, in the same transaction as the record (retention).
pub(crate) fn remove<W: IndexWrite + ?Sized>(
    index: &W,
    old: &RunKeys,
) -> Result<(), UnabortableTransactionError> {
    index_tree::update(index, Some(old), None)
}

/// The lists a run filter selects; empty when it selects every run.
pub(crate) fn lists(filter: &RunFilter) -> Vec<Vec<u8>> {
    index_tree::selected(&[
        (b's', filter.status.as_deref()),
        (b'w', filter.workflow.as_deref()),
        (b'c', filter.contact.as_deref()),
    ])
}

/// Empties the index, leaving it marked as current (`hookflow reset`).
pub(crate) fn clear(index: &sled::Tree) -> sled::Result<()> {
    index_tree::clear(index, VERSION)
}

/// Builds the index from the runs when it is missing or of another layout; returns how many
/// runs were indexed, `None` when it was current.
pub(crate) fn ensure(runs: &sled::Tree, index: &sled::Tree) -> super::StoreResult<Option<u64>> {
    index_tree::rebuild(runs, index, VERSION, |_, bytes| {
        Ok(index_tree::entries(&RunKeys::decode(bytes)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_fixtures::started_run;
    use crate::store::Store;

    fn run(id: &str, workflow: &str) -> RunRecord {
        started_run(id, workflow, "2026-01-01T00:00:00Z".into())
    }

    #[test]
    fn runs_by_status_are_read_from_the_index_without_reading_other_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut failed = run("01A", "a");
        store.save_run(&failed).unwrap();
        failed.status = RunStatus::Failed;
        store.save_run(&failed).unwrap();
        store.save_run(&run("01B", "b")).unwrap();
        // A newer record that does not decode: a scan of the runs would stop on it.
        store.trees.runs.insert("01C", &b"{not json"[..]).unwrap();
        let filter = |status: &str| RunFilter {
            status: Some(status.into()),
            ..RunFilter::default()
        };
        let page = store.runs(&filter("failed"), None, 10).unwrap();
        assert_eq!(
            page.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["01A"]
        );
        assert!(store
            .runs(&filter("running"), None, 10)
            .unwrap()
            .items
            .iter()
            .all(|r| r.id == "01B"));
        let by_workflow = RunFilter {
            workflow: Some("b".into()),
            ..RunFilter::default()
        };
        assert_eq!(store.runs(&by_workflow, None, 10).unwrap().items.len(), 1);
        assert!(
            store.runs(&RunFilter::default(), None, 10).is_err(),
            "no filter walks every run and meets the corrupt one"
        );
    }
}
