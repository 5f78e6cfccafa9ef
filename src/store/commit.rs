//! Group commit: one committer thread makes every accepted request durable, many at a time.
//!
//! Request handlers hand their accepted request to [`GroupCommit::accept`] and wait. The
//! committer thread takes everything that arrived since its last round, decides its dedupe,
//! appends all of it to the journal with one `write` and one `fdatasync` (see
//! [`super::journal`]), and only then answers each handler and hands the round to the applier,
//! which writes it into sled behind the answers. Other writers (runs, the outbox, the admin
//! API) write their own records into sled and call [`GroupCommit::wait`], which takes a ticket
//! that the committer's next sled flush covers.
//!
//! It is an OS thread, not a tokio task: a flush blocks, and handing each one to the blocking
//! pool costs context switches on every round. sled's own `flush` writes its log with
//! `sync_file_range`, which does not persist file metadata or the device cache; an `fdatasync`
//! of the log file after it makes the flush a real one. Journal segments that sled holds in
//! full after such a flush are deleted; with no ticket waiting, the committer flushes sled for
//! that alone at most every [`CHECKPOINT_EVERY`].
//!
//! After a round of new requests the committer copies its count of acknowledged requests to
//! the control file (see [`super::control`]), at most every [`CONTROL_EVERY`].

use super::applier::{Applier, Journaled, Progress};
use super::control::{self, Acked};
use super::ingest::{self, AcceptJob};
use super::journal::{Journal, Position};
use super::{StoreError, StoreResult};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Least time between two writes of the control file (each is two fsyncs).
const CONTROL_EVERY: Duration = Duration::from_millis(100);
/// Least time between two sled flushes made only to delete applied journal segments.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Handle to the committer thread; the thread stops when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Handle>,
}

/// Dropped with the last `GroupCommit`: stops the thread and waits for it, so the Db (and the
/// data dir's lock) is closed once the store is dropped and the dir can be opened again.
struct Handle {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Dropped after the committer stopped: applies what it journaled last.
    _applier: Applier,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _jobs = self.shared.lock();
            self.shared.wake.notify_one();
        }
        if let Some(thread) = self.thread.take() {
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
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<AcceptJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl GroupCommit {
    /// Starts the committer thread, which appends accepted requests to `journal`, hands them
    /// to `applier` (through `progress`), and counts them (from `acked`) in the control file of
    /// `data_dir`.
    pub(crate) fn start(
        db: sled::Db,
        data_dir: PathBuf,
        (journal, progress, applier): (Journal, Arc<Progress>, Applier),
        dedupe: sled::Tree,
        acked: Acked,
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
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("hookflow-commit".into())
            .spawn(move || {
                let mut round = Rounds {
                    db,
                    sled_file: data_dir.join("sled").join("db"),
                    journal,
                    progress,
                    dedupe,
                    sled_flushed: Instant::now(),
                };
                let mut control = Control {
                    dir: data_dir,
                    acked,
                    dirty: false,
                    written: Instant::now(),
                    failing: false,
                };
                committer(&worker, &mut round, &mut control)
            })
            .expect("start the committer thread");
        Self {
            inner: Arc::new(Handle {
                shared,
                thread: Some(thread),
                _applier: applier,
            }),
        }
    }

    /// Queues an accepted request for the next round; `job.reply` gets the stored record once
    /// it is durable, or the error that kept it from being stored.
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

/// The committer's count of acknowledged requests and when the control file last got it.
struct Control {
    dir: PathBuf,
    acked: Acked,
    /// The count moved past what the file says (and that move is durable).
    dirty: bool,
    written: Instant,
    /// The last write failed (logged once until one succeeds).
    failing: bool,
}

impl Control {
    /// Writes the file if it is behind and, unless `now`, was not written lately. A failure
    /// (a full disk) is logged and retried at the next chance: the file only lags.
    fn write(&mut self, now: bool) {
        if !self.dirty || (!now && self.written.elapsed() < CONTROL_EVERY) {
            return;
        }
        match control::write_file(&self.dir, &self.acked) {
            Ok(()) => {
                self.dirty = false;
                self.failing = false;
                self.written = Instant::now();
            }
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(error = %e, "could not write the control file; retrying");
            }
            Err(_) => {}
        }
    }
}

/// What the committer does next.
enum Round {
    Work(Vec<AcceptJob>, u64),
    Idle,
    Stop,
}

/// Waits for jobs or tickets; `Idle` after a quiet while, so the control file can catch up.
fn next_round(shared: &Shared) -> Round {
    let mut guard = shared.lock();
    loop {
        if shared.stop.load(Ordering::SeqCst) && guard.is_empty() {
            return Round::Stop;
        }
        let target = shared.issued.load(Ordering::SeqCst);
        let paused = shared.paused.load(Ordering::SeqCst) > 0;
        if (!guard.is_empty() && !paused) || target > shared.done.borrow().0 {
            return Round::Work(std::mem::take(&mut *guard), target);
        }
        let (next, waited) = shared
            .wake
            .wait_timeout(guard, CONTROL_EVERY)
            .unwrap_or_else(|e| e.into_inner());
        guard = next;
        if waited.timed_out() {
            return Round::Idle;
        }
    }
}

/// What the committer writes with.
struct Rounds {
    db: sled::Db,
    /// sled's log file, synced after sled's flush.
    sled_file: PathBuf,
    journal: Journal,
    progress: Arc<Progress>,
    dedupe: sled::Tree,
    /// When sled was last flushed.
    sled_flushed: Instant,
}

impl Rounds {
    /// Decides the jobs' dedupe and makes them durable in the journal; the journal position
    /// after each. On an error nothing of the round stays (its dedupe marks are undone).
    fn journal(&mut self, jobs: &mut [AcceptJob], dir: &Path) -> StoreResult<Vec<Position>> {
        super::space::check(dir)?;
        self.progress.wait_for_room();
        let mut undo = ingest::Undo::new();
        let decided = ingest::decide(jobs, &mut self.progress.lock(), &self.dedupe, &mut undo);
        let mut ends = Vec::with_capacity(jobs.len());
        let written = decided.and_then(|()| {
            let mut frames = Vec::with_capacity(jobs.iter().map(|j| j.frame.len()).sum());
            let mut at = self.journal.position();
            for job in jobs.iter() {
                frames.extend_from_slice(&job.frame);
                at.offset += job.frame.len() as u64;
                ends.push(at);
            }
            Ok(self.journal.append(&frames)?)
        });
        match written {
            Ok(()) => Ok(ends),
            Err(e) => {
                ingest::undo(&mut self.progress.lock(), undo);
                Err(e)
            }
        }
    }

    /// Flushes sled for real, then deletes the journal segments it now holds in full.
    fn flush_sled(&mut self) -> Result<(), String> {
        let applied = self.progress.applied_at();
        self.db.flush().map_err(|e| e.to_string())?;
        std::fs::File::open(&self.sled_file)
            .and_then(|f| f.sync_data())
            .map_err(|e| format!("fsync {}: {e}", self.sled_file.display()))?;
        self.sled_flushed = Instant::now();
        self.journal.delete_applied(applied);
        Ok(())
    }

    /// When every journaled request is applied: starts a new segment and flushes sled, so the
    /// journal is empty again. Run when the committer is idle and as it stops: a data dir at
    /// rest keeps its requests in sled alone.
    fn checkpoint_all(&mut self) {
        if self.journal.is_empty() || self.progress.applied_at() < self.journal.position() {
            return;
        }
        match self.journal.rotate() {
            Ok(()) => {
                let _ = self.flush_sled();
            }
            Err(e) => tracing::warn!(error = %e, "could not start a new journal segment"),
        }
    }

    /// True when applied segments wait for a sled flush to be deleted.
    fn checkpoint_due(&self) -> bool {
        self.journal.has_old_segments() && self.sled_flushed.elapsed() >= CHECKPOINT_EVERY
    }
}

/// One round after another: take the waiting jobs and the tickets issued so far, journal the
/// jobs, flush sled if a ticket waits, answer. Whatever arrives meanwhile goes into the next
/// round.
fn committer(shared: &Shared, round: &mut Rounds, control: &mut Control) {
    loop {
        let (mut jobs, target) = match next_round(shared) {
            Round::Work(jobs, target) => (jobs, target),
            Round::Idle => {
                round.checkpoint_all();
                control.write(false);
                continue;
            }
            Round::Stop => {
                round.progress.settle();
                round.checkpoint_all();
                control.write(true);
                return;
            }
        };
        let gate = hold_gate(shared, &mut jobs);
        let written = if jobs.is_empty() {
            Ok(Vec::new())
        } else {
            round.journal(&mut jobs, &control.dir)
        };
        let flushed = if target > shared.done.borrow().0 || round.checkpoint_due() {
            round.flush_sled()
        } else {
            Ok(())
        };
        if let Err(e) = round.journal.rotate_if_full() {
            tracing::warn!(error = %e, "could not start a new journal segment; the current one grows");
        }
        drop(gate);
        crate::metrics::flush_batch(jobs.len() as u64 + target - shared.done.borrow().0);
        if written.is_ok() && !jobs.is_empty() {
            control
                .acked
                .count(jobs.iter().map(|j| j.record.id.clone()));
            control.dirty = true;
        }
        if shared.sync_control.swap(false, Ordering::SeqCst) {
            control.write(true);
        }
        shared.done.send_replace((target, flushed.err()));
        answer(jobs, written, &round.progress);
        {
            let _guard = shared.lock();
            shared.flushed.notify_all();
        }
        control.write(false);
    }
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

/// Announces each durable job, hands the round to the applier and each job its stored
/// record; or each job the error that kept the round from the journal.
fn answer(jobs: Vec<AcceptJob>, written: StoreResult<Vec<Position>>, progress: &Progress) {
    let ends = match written {
        Ok(ends) => ends,
        Err(e) => {
            let e = e.to_string();
            for job in jobs {
                job.answer(Err(StoreError::Io(std::io::Error::other(e.clone()))));
            }
            return;
        }
    };
    let mut jobs = jobs;
    let mut entries: Vec<Journaled> = Vec::with_capacity(jobs.len());
    for (job, end) in jobs.iter_mut().zip(ends) {
        if let Some(on_written) = job.on_written.take() {
            on_written(&job.record);
        }
        entries.push((std::mem::take(&mut job.entry), end));
    }
    progress.push(entries);
    for job in jobs {
        job.answer(Ok(()));
    }
}
