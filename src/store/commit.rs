//! Group commit: one committer thread writes every accepted request, one syncer thread flushes,
//! many requests at a time.
//!
//! Request handlers hand their accepted request to [`GroupCommit::accept`] and wait. The
//! committer thread takes everything that arrived since its last round, writes all of it in one
//! sled transaction (a transaction per request costs fifteen times a batched write) and hands
//! the round to the syncer ([`syncer`]), which flushes once and only then answers each handler:
//! under load one flush covers every request in flight, and the next round is written while
//! the disk works. Other writers (runs, the outbox, the admin API) write their own records and
//! call [`GroupCommit::wait`], which takes a ticket that the next flush covers.
//!
//! Both are OS threads, not tokio tasks: a flush blocks, and handing each one to the blocking
//! pool costs context switches on every round. The published sled's `flush` only waits for
//! `sync_file_range` of each buffer, which does not persist file metadata or the device cache;
//! hookflow's sled ends every flush with an `fdatasync` of its log instead (`vendor/README.md`),
//! so a flush is a real one. Only the syncer flushes.
//!
//! After a flush that covered new requests the syncer copies the count of acknowledged
//! requests to the control file (see [`super::control`]), at most every [`CONTROL_EVERY`].

mod syncer;
#[cfg(test)]
mod tests;

use super::control::Acked;
use super::ingest::{AcceptJob, IngestTrees};
use super::StoreError;
use super::StoreResult;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::Duration;
use syncer::{Control, Written};
use tokio::sync::watch;

/// Least time between two writes of the control file (each is two fsyncs).
const CONTROL_EVERY: Duration = Duration::from_millis(100);

/// Handle to the committer and syncer threads; they stop when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Handle>,
}

/// Dropped with the last `GroupCommit`: stops the thread and waits for it, so the Db (and the
/// data dir's lock) is closed once the store is dropped and the dir can be opened again.
struct Handle {
    shared: Arc<Shared>,
    /// The store's own compression dictionary, for the rounds and for other writers that
    /// flush through this commit (the mailer's state changes).
    learning: super::codec::Learning,
    /// The committer, then the syncer (which stops once the committer has).
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _jobs = self.shared.lock();
            self.shared.wake.notify_one();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

struct Shared {
    /// Tickets handed out (one per `wait`).
    issued: AtomicU64,
    /// Highest ticket known durable, with the error of the last flush if it failed.
    done: watch::Sender<(u64, Option<String>)>,
    /// Accepted requests waiting for the next round.
    jobs: Mutex<Vec<AcceptJob>>,
    wake: Condvar,
    /// Signalled after every flush, for `wait_blocking`.
    flushed: Condvar,
    stop: AtomicBool,
    /// Holders of [`GroupCommit::pause`]: accepted requests wait while any is held.
    paused: AtomicUsize,
    /// Held by the committer while it writes requests, and by a pause.
    gate: Mutex<()>,
    /// A `wait_blocking` caller (shutdown, reset, backup) wants the control file up to date.
    sync_control: AtomicBool,
    /// Held shared by [`GroupCommit::admit`] from a request's id to its place in `jobs`, and
    /// exclusively by the committer while it takes a round: every id of a round sorts after
    /// every id of the rounds before it, which request pages rely on.
    admission: RwLock<()>,
    /// Held by a test to keep the disk "busy": the syncer takes it before each flush.
    #[cfg(test)]
    flushes: Mutex<()>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<AcceptJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl GroupCommit {
    /// Starts the committer thread, which writes accepted requests into `ingest` and counts
    /// them in `meta` (starting from `acked`) and in the control file of `data_dir`.
    pub(crate) fn start(
        db: sled::Db,
        data_dir: PathBuf,
        ingest: IngestTrees,
        (meta, acked): (sled::Tree, Acked),
        learning: super::codec::Learning,
    ) -> Self {
        let (done, _) = watch::channel((0, None));
        let shared = Arc::new(Shared {
            issued: AtomicU64::new(0),
            done,
            jobs: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            stop: AtomicBool::new(false),
            sync_control: AtomicBool::new(false),
            paused: AtomicUsize::new(0),
            gate: Mutex::new(()),
            admission: RwLock::new(()),
            #[cfg(test)]
            flushes: Mutex::new(()),
        });
        let (to_syncer, rounds) = std::sync::mpsc::sync_channel(0);
        let spawn = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .unwrap_or_else(|e| panic!("start the {name} thread: {e}"))
        };
        let (writes, syncs) = (shared.clone(), shared.clone());
        let ledger = Ledger {
            dir: data_dir.clone(),
            meta,
            acked: acked.clone(),
        };
        let threads = vec![
            spawn(
                "hookflow-commit",
                // Its rounds compress against the store's own dictionary once it has one.
                Box::new({
                    let learning = learning.clone();
                    move || learning.scope(|| committer(&writes, &ingest, ledger, to_syncer))
                }),
            ),
            spawn(
                "hookflow-sync",
                Box::new(move || syncer::run(&syncs, &db, rounds, Control::new(data_dir, acked))),
            ),
        ];
        Self {
            inner: Arc::new(Handle {
                shared,
                threads,
                learning,
            }),
        }
    }

    /// Runs `f` with the store's own compression dictionary (see [`super::codec::Learning`]).
    pub(crate) fn with_own_dictionary<T>(&self, f: impl FnOnce() -> T) -> T {
        self.inner.learning.scope(f)
    }

    /// Opens the way for one request: while the guard lives, ids made with
    /// [`crate::domain::ids::new_ulid`] and queued with [`Self::accept`] land in the round
    /// being gathered, never in one already taken.
    pub(crate) fn admit(&self) -> RwLockReadGuard<'_, ()> {
        let admission = &self.inner.shared.admission;
        admission.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an accepted request for the next round (under [`Self::admit`]'s guard);
    /// `job.reply` gets the stored record once it is durable, or the error that kept it from
    /// being stored.
    pub(crate) fn accept(&self, job: AcceptJob) {
        let shared = &self.inner.shared;
        let mut jobs = shared.lock();
        jobs.push(job);
        if jobs.len() == 1 {
            shared.wake.notify_one();
        }
    }

    /// Takes a ticket and wakes the committer.
    fn ticket(&self) -> u64 {
        let shared = &self.inner.shared;
        let ticket = shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = shared.lock();
        shared.wake.notify_one();
        ticket
    }

    /// The thread-blocking form of `wait`, for code outside async tasks; the control file
    /// is written before it returns (it is what `serve` calls last).
    pub fn wait_blocking(&self) -> StoreResult<()> {
        let shared = &self.inner.shared;
        shared.sync_control.store(true, Ordering::SeqCst);
        let ticket = self.ticket();
        let mut guard = shared.lock();
        loop {
            let (done, err) = shared.done.borrow().clone();
            if done >= ticket {
                return flush_result(err);
            }
            guard = shared
                .flushed
                .wait_timeout(guard, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Holds back accepted requests until the guard drops (a backup reads the store as one
    /// instant of the request log); flushes for other writers go on meanwhile. Returns once
    /// no round of requests is being written.
    pub(crate) fn pause(&self) -> Paused<'_> {
        let shared = &*self.inner.shared;
        shared.paused.fetch_add(1, Ordering::SeqCst);
        let gate = shared.gate.lock().unwrap_or_else(|e| e.into_inner());
        Paused {
            _gate: gate,
            shared,
        }
    }

    /// Returns once everything this task wrote before the call is durable.
    pub async fn wait(&self) -> StoreResult<()> {
        let shared = &self.inner.shared;
        let mut rx = shared.done.subscribe();
        let ticket = self.ticket();
        loop {
            {
                let (done, err) = &*rx.borrow_and_update();
                if *done >= ticket {
                    return flush_result(err.clone());
                }
            }
            if rx.changed().await.is_err() {
                return Err(StoreError::Io(std::io::Error::other("flusher stopped")));
            }
        }
    }
}

#[cfg(test)]
impl GroupCommit {
    /// Keeps the syncer from starting a flush until the guard drops, as a slow disk would.
    pub(crate) fn hold_flushes(&self) -> MutexGuard<'_, ()> {
        self.inner.shared.flushes.lock().unwrap()
    }
}

/// Accepted requests wait while this lives (see [`GroupCommit::pause`]).
pub(crate) struct Paused<'a> {
    _gate: MutexGuard<'a, ()>,
    shared: &'a Shared,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.shared.paused.fetch_sub(1, Ordering::SeqCst);
        let _jobs = self.shared.lock();
        self.shared.wake.notify_one();
    }
}

fn flush_result(err: Option<String>) -> StoreResult<()> {
    match err {
        None => Ok(()),
        Some(e) => Err(StoreError::Io(std::io::Error::other(e))),
    }
}

/// What the committer does next.
enum Round {
    Work(Vec<AcceptJob>, u64),
    Stop,
}

/// Waits for jobs or for tickets issued after `taken` (the highest ticket a round already
/// covers: a round handed to the syncer covers its tickets before `done` says so).
fn next_round(shared: &Shared, taken: u64) -> Round {
    let mut guard = shared.lock();
    loop {
        if shared.stop.load(Ordering::SeqCst) && guard.is_empty() {
            return Round::Stop;
        }
        let target = shared.issued.load(Ordering::SeqCst);
        let paused = shared.paused.load(Ordering::SeqCst) > 0;
        if (!guard.is_empty() && !paused) || target > taken {
            // Admissions in progress finish first (their ids belong to this round), and none
            // starts until the round is taken; the jobs lock is taken after the admission lock,
            // in the order `admit` then `accept` take them.
            drop(guard);
            let _closed = shared.admission.write().unwrap_or_else(|e| e.into_inner());
            return Round::Work(std::mem::take(&mut *shared.lock()), target);
        }
        guard = shared.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
    }
}

/// One round after another: take the waiting jobs and the tickets issued so far, write the
/// jobs and hand the round to the syncer, which flushes and answers. Whatever arrives
/// meanwhile goes into the next round, written while the syncer waits for the disk; the
/// hand-over waits for the syncer, so at most one round is written ahead of the disk.
fn committer(shared: &Shared, ingest: &IngestTrees, ledger: Ledger, syncer: SyncSender<Written>) {
    let Ledger {
        dir,
        meta,
        mut acked,
    } = ledger;
    let mut taken = 0;
    loop {
        let (mut jobs, target) = match next_round(shared, taken) {
            Round::Work(jobs, target) => (jobs, target),
            Round::Stop => return,
        };
        taken = target;
        let gate = hold_gate(shared, &mut jobs);
        let mut counted = acked.clone();
        let written = if jobs.is_empty() {
            Ok(())
        } else if let Err(full) = super::space::check(&dir) {
            Err(StoreError::Io(full))
        } else {
            ingest.write(&mut jobs).and_then(|()| {
                let ids = jobs.iter().map(|j| j.record.id.clone());
                Ok(counted.record(&meta, ids)?)
            })
        };
        drop(gate);
        let counted = (written.is_ok() && !jobs.is_empty()).then(|| {
            acked = counted.clone();
            counted
        });
        let round = Written {
            jobs,
            target,
            written,
            counted,
        };
        if syncer.send(round).is_err() {
            return;
        }
    }
}

/// Where the committer counts acknowledged requests: the `meta` tree, from `acked`, for the
/// control file of `dir`.
struct Ledger {
    dir: PathBuf,
    meta: sled::Tree,
    acked: Acked,
}

/// Takes the gate for a round with requests; when a pause holds it, puts the requests back
/// (first in line) and leaves the round to the tickets.
fn hold_gate<'a>(shared: &'a Shared, jobs: &mut Vec<AcceptJob>) -> Option<MutexGuard<'a, ()>> {
    if jobs.is_empty() {
        return None;
    }
    match shared.gate.try_lock() {
        Ok(gate) => Some(gate),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => {
            let mut waiting = shared.lock();
            let later = std::mem::replace(&mut *waiting, std::mem::take(jobs));
            waiting.extend(later);
            None
        }
    }
}
