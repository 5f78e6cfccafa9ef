//! Group commit: many request handlers share one flush.
//!
//! A handler writes its records, then calls `wait`, which takes a ticket and waits until a
//! flush that began after the ticket was taken has finished. One flusher thread runs flushes
//! back to back while tickets are outstanding, so under load each flush covers many requests
//! and the cost of the disk sync is shared. It is an OS thread, not a tokio task: a flush
//! blocks, and handing each one to the blocking pool costs context switches on every batch.
//!
//! sled's own `flush` writes its log with `sync_file_range`, which does not persist file
//! metadata or the device cache; an `fdatasync` of the log file after it makes the flush a real
//! one.

use super::{StoreError, StoreResult};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Handle to the flusher thread; the thread stops when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Handle>,
}

/// Dropped with the last `GroupCommit`: tells the thread to stop so the Db can close.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

struct Shared {
    /// Tickets handed out (one per `wait`).
    issued: AtomicU64,
    /// Highest ticket known durable, with the error of the last flush if it failed.
    done: watch::Sender<(u64, Option<String>)>,
    lock: Mutex<()>,
    wake: Condvar,
    /// Signalled after every flush, for `wait_blocking`.
    flushed: Condvar,
    stop: AtomicBool,
}

impl GroupCommit {
    /// Starts the flusher thread.
    pub fn start(db: sled::Db, sled_dir: PathBuf) -> Self {
        let (done, _) = watch::channel((0, None));
        let shared = Arc::new(Shared {
            issued: AtomicU64::new(0),
            done,
            lock: Mutex::new(()),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("hookflow-flusher".into())
            .spawn(move || flusher(&worker, &db, &sled_dir.join("db")))
            .expect("start the flusher thread");
        Self {
            inner: Arc::new(Handle { shared }),
        }
    }

    /// Takes a ticket and wakes the flusher.
    fn ticket(&self) -> u64 {
        let shared = &self.inner.shared;
        let ticket = shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = shared.lock.lock().expect("flusher lock");
        shared.wake.notify_one();
        ticket
    }

    /// The thread-blocking form of `wait`, for code outside async tasks.
    pub fn wait_blocking(&self) -> StoreResult<()> {
        let shared = &self.inner.shared;
        let ticket = self.ticket();
        let mut guard = shared.lock.lock().expect("flusher lock");
        loop {
            let (done, err) = shared.done.borrow().clone();
            if done >= ticket {
                return match err {
                    None => Ok(()),
                    Some(e) => Err(StoreError::Io(std::io::Error::other(e))),
                };
            }
            guard = shared
                .flushed
                .wait_timeout(guard, Duration::from_millis(50))
                .expect("flusher lock")
                .0;
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
                    return match err {
                        None => Ok(()),
                        Some(e) => Err(StoreError::Io(std::io::Error::other(e.clone()))),
                    };
                }
            }
            if rx.changed().await.is_err() {
                return Err(StoreError::Io(std::io::Error::other("flusher stopped")));
            }
        }
    }
}

fn flusher(shared: &Shared, db: &sled::Db, log_file: &std::path::Path) {
    loop {
        let target = {
            let mut guard = shared.lock.lock().expect("flusher lock");
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let target = shared.issued.load(Ordering::SeqCst);
                if target > shared.done.borrow().0 {
                    break target;
                }
                guard = shared
                    .wake
                    .wait_timeout(guard, Duration::from_millis(200))
                    .expect("flusher lock")
                    .0;
            }
        };
        let result = db.flush().map_err(|e| e.to_string()).and_then(|_| {
            std::fs::File::open(log_file)
                .and_then(|f| f.sync_data())
                .map_err(|e| format!("fsync {}: {e}", log_file.display()))
        });
        crate::metrics::flush_batch(target - shared.done.borrow().0);
        shared.done.send_replace((target, result.err()));
        let _guard = shared.lock.lock().expect("flusher lock");
        shared.flushed.notify_all();
    }
}
