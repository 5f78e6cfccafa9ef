//! Run records, separate from the workflow definition: which step a run is at, what each step
//! did. `runs_active` indexes unfinished runs so a restart can resume them.

use super::codec::{decode, encode, page_newest_first, Page};
use super::queue::QueueEntry;
use super::{Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sled::transaction::{ConflictableTransactionError, Transactional};

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
    pub fn start(entry: &QueueEntry, created_at: String) -> Self {
        RunRecord {
            id: entry.run_id.clone(),
            workflow: entry.workflow.clone(),
            version: entry.version.clone(),
            request_id: entry.request_id.clone(),
            index: entry.index,
            contact_id: None,
            status: RunStatus::Running,
            position: Some(vec![Seg::Index(0)]),
            steps: Vec::new(),
            error: None,
            created_at,
            finished_at: None,
            item: entry.item.clone(),
            request: entry.request.clone(),
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
    pub fn start_runs(&self, started: &[(QueueEntry, RunRecord)]) -> StoreResult<Vec<RunRecord>> {
        let t = &self.trees;
        let result = (&t.queue, &t.runs, &t.runs_active).transaction(|(queue, runs, active)| {
            let mut out = Vec::with_capacity(started.len());
            for (entry, run) in started {
                queue.remove(&entry.seq.to_be_bytes())?;
                if let Some(existing) = runs.get(run.id.as_bytes())? {
                    let existing =
                        decode("runs", &existing).map_err(ConflictableTransactionError::Abort)?;
                    out.push(existing);
                    continue;
                }
                runs.insert(run.id.as_bytes(), encode(run))?;
                active.insert(run.id.as_bytes(), &[])?;
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

    /// Runs newest first, filtered by workflow, status and contact.
    pub fn runs(
        &self,
        filter: &RunFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<RunRecord>> {
        page_newest_first(&self.trees.runs, "runs", cursor, limit, |r: &RunRecord| {
            filter.workflow.as_deref().is_none_or(|w| r.workflow == w)
                && filter
                    .status
                    .as_deref()
                    .is_none_or(|s| r.status.as_str() == s)
                && filter
                    .contact
                    .as_deref()
                    .is_none_or(|c| r.contact_id.as_deref() == Some(c))
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

/// Writes a run inside a step transaction, keeping the active index in step.
pub fn save_run_tx(
    runs: &sled::transaction::TransactionalTree,
    active: &sled::transaction::TransactionalTree,
    run: &RunRecord,
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    runs.insert(run.id.as_bytes(), encode(run))?;
    if run.is_finished() {
        active.remove(run.id.as_bytes())?;
    } else {
        active.insert(run.id.as_bytes(), &[])?;
    }
    Ok(())
}

impl Store {
    /// Writes a run outside a step transaction (a failure record).
    pub fn save_run(&self, run: &RunRecord) -> StoreResult<()> {
        let t = &self.trees;
        (&t.runs, &t.runs_active).transaction(|(runs, active)| {
            save_run_tx(runs, active, run)?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }
}
