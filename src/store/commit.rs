//! Group commit: many request handlers share one flush.
//!
//! A handler writes its records, then calls `wait`, which takes a ticket and waits until the
//! flusher has finished a flush that began after the ticket was taken. One flusher task runs
//! flushes back to back while tickets are outstanding, so under load each flush covers many
//! requests and the cost of `fsync` is shared.
//!
//! sled's own `flush` writes its log with `sync_file_range`, which does not persist file
//! metadata or the device cache; an `fdatasync` of the log file after it makes the flush a real
//! one.

use super::{StoreError, StoreResult};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// Handle to the flusher task.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Inner>,
}

struct Inner {
    /// Tickets handed out (one per `wait`).
    issued: AtomicU64,
    /// Highest ticket known durable, or the error of the last flush.
    done: watch::Sender<(u64, Option<String>)>,
    wake: Notify,
}

impl GroupCommit {
    /// Starts the flusher on the current tokio runtime (or a thread if there is none).
    pub fn start(db: sled::Db, sled_dir: PathBuf) -> Self {
        let (done, _) = watch::channel((0, None));
        let inner = Arc::new(Inner {
            issued: AtomicU64::new(0),
            done,
            wake: Notify::new(),
        });
        let worker = inner.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { flusher(worker, db, sled_dir).await });
        } else {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("flusher runtime");
                rt.block_on(flusher(worker, db, sled_dir));
            });
        }
        Self { inner }
    }

    /// Returns once everything this task wrote before the call is durable.
    pub async fn wait(&self) -> StoreResult<()> {
        let ticket = self.inner.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.inner.done.subscribe();
        self.inner.wake.notify_one();
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

/// How often an idle flusher checks whether the store was closed.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_millis(200);

async fn flusher(inner: Arc<Inner>, db: sled::Db, sled_dir: PathBuf) {
    let log_file = sled_dir.join("db");
    loop {
        let target = inner.issued.load(Ordering::SeqCst);
        let flushed_to = inner.done.borrow().0;
        if target <= flushed_to {
            // Stop when every handle is gone, so the Db (and its file lock) can be released.
            if Arc::strong_count(&inner) == 1 {
                return;
            }
            let _ = tokio::time::timeout(IDLE_CHECK, inner.wake.notified()).await;
            continue;
        }
        let db2 = db.clone();
        let file = log_file.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<(), String> {
            db2.flush().map_err(|e| e.to_string())?;
            std::fs::File::open(&file)
                .and_then(|f| f.sync_data())
                .map_err(|e| format!("fsync {}: {e}", file.display()))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        inner.done.send_replace((target, result.err()));
    }
}
