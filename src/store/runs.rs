//! Run records, separate from the workflow definition: which step a run is at, what each step
//! did. `runs_active` indexes unfinished runs so a restart can resume them.

use super::codec::{decode, encode, page_newest_first, Page};
use super::posting::Intersection;
use super::queue::QueueEntry;
use super::run_index::{self, RunKeys};
use super::txn::{self, TxTree};
use super::{Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sled::transaction::{ConflictableTransactionError, Transactional};
use sled::IVec;

/// `queued` → `running` → `succeeded` | `failed` (or `waiting` on a timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Waiting,
    Succeeded,
    Failed,
}

impl RunStatus {
    /// The lowercase name used in JSON and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Succeeded,
    Noop,
    Skipped,
    Failed,
    Waiting,
}

/// One segment of a step path: an index in a list, or the branch of an `if`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seg {
    Index(usize),
    Branch(String),
}

/// A step's place in the workflow: `[2]`, `[4, "then", 0]`.
pub type StepPath = Vec<Seg>;

/// The record of one executed step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub path: StepPath,
    pub kind: String,
    pub status: StepStatus,
    /// Arguments after templating.
    pub input: Value,
    pub output: Value,
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: String,
}

/// A run of a workflow for one item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub workflow: String,
    pub version: String,
    pub request_id: String,
    pub index: usize,
    pub contact_id: Option<String>,
    pub status: RunStatus,
    /// The next step to execute; `None` when the run is over.
    pub position: Option<StepPath>,
    pub steps: Vec<StepRecord>,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The item and request context the run was queued with.
    pub item: Value,
    pub request: Value,
    /// When the run was accepted (ms), for `now`-independent ordering.
    pub accepted_at: i64,
}

impl RunRecord {
    /// The run of a queue entry before its first step: running at step 0, no contact yet.
    pub fn start(entry: QueueEntry, created_at: String) -> Self {
        RunRecord {
            id: entry.run_id,
            workflow: entry.workflow,
            version: entry.version,
            request_id: entry.request_id,
            index: entry.index,
            contact_id: None,
            status: RunStatus::Running,
            position: Some(vec![Seg::Index(0)]),
            steps: Vec::new(),
            error: None,
            created_at,
            finished_at: None,
            item: entry.item,
            request: entry.request,
            accepted_at: entry.accepted_at,
        }
    }

    /// True once the run can make no more progress.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, RunStatus::Succeeded | RunStatus::Failed)
    }
}

impl Store {
    /// Turns queue entries into run records and removes the entries, all in one transaction.
    /// A run that already exists (a crash after this step) only loses its queue entry, and is
    /// returned as stored.
    pub fn start_runs(&self, started: &[(u64, RunRecord)]) -> StoreResult<Vec<RunRecord>> {
        let t = &self.trees;
        let trees = (&t.queue, &t.runs, &t.runs_active, &t.runs_index);
        let result = trees.transaction(|(queue, runs, active, index)| {
            let mut out = Vec::with_capacity(started.len());
            for (seq, run) in started {
                queue.set(&seq.to_be_bytes()[..], None);
                if let Some(existing) = runs.get(run.id.as_bytes())? {
                    let existing =
                        decode("runs", &existing).map_err(ConflictableTransactionError::Abort)?;
                    out.push(existing);
                    continue;
                }
                runs.set(run.id.as_bytes(), Some(encode(run).into()));
                active.set(run.id.as_bytes(), Some(IVec::default()));
                run_index::update(index, None, &RunKeys::of(run))?;
                out.push(run.clone());
            }
            Ok(out)
        });
        Ok(result?)
    }

    /// One run.
    pub fn run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        match self.trees.runs.get(id.as_bytes())? {
            Some(v) => Ok(Some(decode("runs", &v)?)),
            None => Ok(None),
        }
    }

    /// Ids of runs that are not finished (running or waiting), oldest first.
    pub fn active_runs(&self) -> StoreResult<Vec<String>> {
        self.trees
            .runs_active
            .iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    /// Runs newest first, filtered by workflow, status and contact: a filter reads the runs
    /// its index lists name (`runs_index`), no filter walks the runs.
    pub fn runs(
        &self,
        filter: &RunFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<RunRecord>> {
        let keep = |r: &RunRecord| {
            filter.workflow.as_deref().is_none_or(|w| r.workflow == w)
                && filter
                    .status
                    .as_deref()
                    .is_none_or(|s| r.status.as_str() == s)
                && filter
                    .contact
                    .as_deref()
                    .is_none_or(|c| r.contact_id.as_deref() == Some(c))
        };
        let lists = run_index::lists(filter);
        if lists.is_empty() {
            return page_newest_first(&self.trees.runs, "runs", cursor, limit, keep);
        }
        let below = cursor.map(|c| c.as_bytes().to_vec());
        let mut items = Vec::new();
        for id in Intersection::new(&self.trees.runs_index, lists, below) {
            let Some(run) = self.run(&String::from_utf8_lossy(&id?))? else {
                continue;
            };
            // The index is written with the run; checking again costs nothing and keeps a
            // page right even over an entry a crash-free but corrupt record left behind.
            if !keep(&run) {
                continue;
            }
            if items.len() == limit {
                let next_cursor = items.last().map(|r: &RunRecord| r.id.clone());
                return Ok(Page { items, next_cursor });
            }
            items.push(run);
        }
        Ok(Page {
            items,
            next_cursor: None,
        })
    }
}

/// Filters of `GET /api/runs`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RunFilter {
    pub workflow: Option<String>,
    pub status: Option<String>,
    pub contact: Option<String>,
}

/// Writes a run inside a step transaction, keeping the active index and `runs_index` in step.
pub fn save_run_tx(
    runs: &TxTree<'_>,
    active: &TxTree<'_>,
    index: &TxTree<'_>,
    run: &RunRecord,
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    // A stored record that does not decode has no entries to take back; readers check every
    // listed run against the filter, so a leftover entry never shows a wrong run.
    let stored = runs.replace(run.id.as_bytes(), encode(run))?;
    let old = stored
        .as_ref()
        .and_then(|bytes| RunKeys::decode(bytes).ok());
    run_index::update(index, old.as_ref(), &RunKeys::of(run))?;
    if run.is_finished() {
        // A run started and finished in one batch was never active: no delete to write.
        if stored.is_some() {
            active.remove(run.id.as_bytes())?;
        }
    } else {
        active.insert(run.id.as_bytes(), &[])?;
    }
    Ok(())
}

impl Store {
    /// Writes a run outside a step transaction (a failure record).
    pub fn save_run(&self, run: &RunRecord) -> StoreResult<()> {
        let t = &self.trees;
        txn::transaction(&[&t.runs, &t.runs_active, &t.runs_index], |v| {
            save_run_tx(&v[0], &v[1], &v[2], run)?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }
}
