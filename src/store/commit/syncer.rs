//! The second half of group commit: the thread that makes written rounds durable and answers.
//!
//! The committer writes a round into sled and hands it here; while this thread waits for the
//! disk (sled's `flush`, which in hookflow's sled ends with an `fdatasync` of its log: see
//! `vendor/README.md`), the committer writes the next round.
//! Without the overlap a round's requests waited for the write of the round and then for the
//! disk, one after the other, and the disk's wait left a core idle.

use super::super::control::{self, Acked};
use super::super::ingest::AcceptJob;
use super::super::StoreError;
use super::super::StoreResult;
use super::{Shared, CONTROL_EVERY};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

/// A round the committer wrote, on its way to the flush that makes it durable.
pub(super) struct Written {
    pub jobs: Vec<AcceptJob>,
    /// The highest ticket issued when the round was taken: the flush covers it.
    pub target: u64,
    /// The outcome of writing the jobs.
    pub written: StoreResult<()>,
    /// The count of acknowledged requests once this round's are, if it wrote any.
    pub counted: Option<Acked>,
}

/// Flushes each round handed over, in order, then answers its requests and tickets.
pub(super) fn run(shared: &Shared, db: &sled::Db, rounds: Receiver<Written>, mut control: Control) {
    loop {
        let round = match rounds.recv_timeout(CONTROL_EVERY) {
            Ok(round) => round,
            Err(RecvTimeoutError::Timeout) => {
                control.write(false);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                control.write(true);
                return;
            }
        };
        #[cfg(test)]
        drop(shared.flushes.lock());
        let flushed = db.flush().map(drop).map_err(|e| e.to_string());
        let covered = round.target - shared.done.borrow().0;
        crate::metrics::flush_batch(round.jobs.len() as u64 + covered);
        if let (Ok(()), Some(counted)) = (&flushed, round.counted) {
            control.acked = counted;
            control.dirty = true;
        }
        if shared.sync_control.swap(false, Ordering::SeqCst) {
            control.write(true);
        }
        shared
            .done
            .send_replace((round.target, flushed.clone().err()));
        answer(round.jobs, round.written, flushed);
        {
            let _guard = shared.lock();
            shared.flushed.notify_all();
        }
        control.write(false);
    }
}

/// Hands each job its stored record, or the error of the write or of the flush.
fn answer(jobs: Vec<AcceptJob>, written: StoreResult<()>, flushed: Result<(), String>) {
    let error = match (written, flushed) {
        (Ok(()), Ok(())) => None,
        (Err(e), _) => Some(e.to_string()),
        (Ok(()), Err(e)) => Some(e),
    };
    for job in jobs {
        job.answer(match &error {
            None => Ok(()),
            Some(e) => Err(StoreError::Io(std::io::Error::other(e.clone()))),
        });
    }
}

/// The count of acknowledged requests the control file last got, and when.
pub(super) struct Control {
    dir: PathBuf,
    acked: Acked,
    /// The count moved past what the file says (and that move is durable).
    dirty: bool,
    written: Instant,
    /// The last write failed (logged once until one succeeds).
    failing: bool,
}

impl Control {
    pub(super) fn new(dir: PathBuf, acked: Acked) -> Self {
        Self {
            dir,
            acked,
            dirty: false,
            written: Instant::now(),
            failing: false,
        }
    }

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
