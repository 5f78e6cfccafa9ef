//! The applier: one thread that writes journaled requests into sled (see [`super::journal`]),
//! every round waiting since its last transaction in one transaction, behind the answers.
//!
//! Readers of what intake writes (the request log, references, counts, the queue) call
//! [`Progress::settle`] first: it returns once every request answered before the call is in
//! sled, so a request is readable as soon as its sender has its 2xx. The committer asks it
//! whether a dedupe key is taken by a request not applied yet ([`Progress::lock`]).

pub(crate) mod replay;

use super::control::Acked;
use super::journal::entry::Entry;
use super::journal::Position;
use super::references::ReferenceRecord;
use super::request_index::{self, RequestKeys};
use super::{StoreError, StoreResult};
use sled::transaction::{ConflictableTransactionError, Transactional};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// `meta` key: the journal position after the last request applied (see [`Position`]).
pub(crate) const APPLIED: &[u8] = b"journal_applied";
/// Most requests one transaction applies.
const MAX_BATCH: usize = 4096;
/// Most requests journaled and not applied; the committer waits above it (bounded memory).
const MAX_BACKLOG: usize = 16_384;
/// How long a reader waits for the applier before reading what sled has.
const SETTLE_DEADLINE: Duration = Duration::from_secs(10);

/// A journaled request on its way into sled, with the journal position after it.
pub(crate) type Journaled = (Entry, Position);

/// What the committer, the applier and readers share.
pub(crate) struct Progress {
    state: Mutex<State>,
    /// The applier waits on it for work.
    work: Condvar,
    /// Signalled after each transaction: readers settling, a committer waiting for room.
    applied: Condvar,
}

pub(crate) struct State {
    backlog: Vec<Journaled>,
    /// Requests handed to the applier / written into sled, since start.
    journaled: u64,
    applied: u64,
    /// Where the last transaction left the journal.
    pub(crate) applied_at: Position,
    /// Dedupe marks of requests journaled and not applied yet: key → until (ms).
    pub(crate) dedupe: HashMap<String, i64>,
    stop: bool,
}

impl Progress {
    pub(crate) fn new(applied_at: Position) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                backlog: Vec::new(),
                journaled: 0,
                applied: 0,
                applied_at,
                dedupe: HashMap::new(),
                stop: false,
            }),
            work: Condvar::new(),
            applied: Condvar::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands journaled requests to the applier.
    pub(crate) fn push(&self, entries: Vec<Journaled>) {
        if entries.is_empty() {
            return;
        }
        let mut state = self.lock();
        state.journaled += entries.len() as u64;
        state.backlog.extend(entries);
        self.work.notify_one();
    }

    /// Waits while the applier is more than [`MAX_BACKLOG`] requests behind.
    pub(crate) fn wait_for_room(&self) {
        let mut state = self.lock();
        while state.backlog.len() > MAX_BACKLOG && !state.stop {
            state = self
                .applied
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Returns once every request journaled before the call is in sled (or after
    /// [`SETTLE_DEADLINE`], when sled refuses writes: readers then see what it has).
    pub(crate) fn settle(&self) {
        let mut state = self.lock();
        let target = state.journaled;
        let deadline = Instant::now() + SETTLE_DEADLINE;
        while state.applied < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("the applier is behind; reading what the store has");
                return;
            }
            state = self
                .applied
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Where sled's applied requests end in the journal.
    pub(crate) fn applied_at(&self) -> Position {
        self.lock().applied_at
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.work.notify_one();
    }
}

/// The trees a journaled request is written into.
pub(crate) struct ApplyTrees {
    pub requests: sled::Tree,
    /// `requests_index`: the log by workflow and status.
    pub index: sled::Tree,
    pub queue: sled::Tree,
    pub references: sled::Tree,
    pub dedupe: sled::Tree,
    pub counts: sled::Tree,
    pub meta: sled::Tree,
}

impl ApplyTrees {
    /// Writes `entries` in one transaction, with the journal position after the last one and
    /// the count of acknowledged requests (`acked` plus these); returns that count.
    pub(crate) fn apply(&self, entries: &[Journaled], acked: &Acked) -> StoreResult<Acked> {
        let Some((_, end)) = entries.last() else {
            return Ok(acked.clone());
        };
        let mut counted = acked.clone();
        counted.count(entries.iter().map(|(e, _)| e.id.clone()));
        let mut tally: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for (e, _) in entries {
            *tally
                .entry(super::counts::key(&e.workflow, &e.status))
                .or_default() += 1;
        }
        let trees = (
            &self.requests,
            &self.index,
            &self.queue,
            &self.references,
            &self.dedupe,
            &self.counts,
            &self.meta,
        );
        trees.transaction(
            |(requests, index, queue, references, dedupe, counts, meta)| {
                for (e, _) in entries {
                    for (key, until) in &e.dedupe {
                        dedupe.insert(key.as_bytes(), &until.to_be_bytes())?;
                    }
                    for (seq, bytes) in &e.queue {
                        queue.insert(seq, bytes.as_slice())?;
                    }
                    if references.get(e.workflow.as_bytes())?.is_none() {
                        let reference =
                            reference_of(e).map_err(ConflictableTransactionError::Abort)?;
                        references.insert(e.workflow.as_bytes(), reference)?;
                    }
                    requests.insert(e.id.as_bytes(), e.record.as_slice())?;
                    request_index::add(index, &RequestKeys::of(&e.id, &e.workflow, &e.status))?;
                }
                // Only the applier counts these statuses, so a read-modify-write cannot race
                // (rejections are counted with sled's merge, under another status).
                for (key, n) in &tally {
                    let old = super::counts::read(counts.get(key)?.as_deref());
                    counts.insert(key.as_slice(), &(old + n).to_be_bytes())?;
                }
                counted.write_tx(meta)?;
                meta.insert(APPLIED, &end.to_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            },
        )?;
        Ok(counted)
    }
}

/// The reference a workflow's first applied request makes (it has no other yet).
fn reference_of(e: &Entry) -> StoreResult<Vec<u8>> {
    let record: super::requests::RequestRecord = super::codec::decode("requests", &e.record)?;
    Ok(super::codec::encode(&ReferenceRecord {
        request_id: record.id,
        captured_at: record.received_at,
        payload: record.payload,
    }))
}

/// The applier thread's handle: dropping it applies what is left and stops the thread.
pub(crate) struct Applier {
    progress: Arc<Progress>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Applier {
    fn drop(&mut self) {
        self.progress.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Applier {
    /// Starts the thread; `queue_ready` is told whenever queue entries were applied.
    pub(crate) fn start(
        progress: Arc<Progress>,
        trees: ApplyTrees,
        acked: Acked,
        queue_ready: Arc<tokio::sync::Notify>,
    ) -> Self {
        let shared = progress.clone();
        let thread = std::thread::Builder::new()
            .name("hookflow-apply".into())
            .spawn(move || run(&shared, &trees, acked, &queue_ready))
            .expect("start the applier thread");
        Self {
            progress,
            thread: Some(thread),
        }
    }
}

fn run(
    progress: &Progress,
    trees: &ApplyTrees,
    mut acked: Acked,
    queue_ready: &tokio::sync::Notify,
) {
    let mut failing = false;
    loop {
        let batch = {
            let mut state = progress.lock();
            while state.backlog.is_empty() && !state.stop {
                state = progress.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.backlog.is_empty() {
                return;
            }
            let n = state.backlog.len().min(MAX_BATCH);
            state.backlog.drain(..n).collect::<Vec<_>>()
        };
        // A failed transaction (sled refusing writes) is tried again: the journal holds the
        // requests, and start-up applies them if this process never manages to.
        loop {
            match trees.apply(&batch, &acked) {
                Ok(counted) => {
                    acked = counted;
                    if failing {
                        tracing::info!("the applier writes into the store again");
                    }
                    failing = false;
                    break;
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %e, "could not apply journaled requests; retrying");
                    }
                    failing = true;
                    if progress.lock().stop {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        let queued = batch.iter().any(|(e, _)| !e.queue.is_empty());
        {
            let mut state = progress.lock();
            state.applied += batch.len() as u64;
            state.applied_at = batch.last().expect("not empty").1;
            for (e, _) in &batch {
                for (key, until) in &e.dedupe {
                    if state.dedupe.get(key) == Some(until) {
                        state.dedupe.remove(key);
                    }
                }
            }
        }
        progress.applied.notify_all();
        if queued {
            queue_ready.notify_one();
        }
    }
}
