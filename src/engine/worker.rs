//! The worker: takes queued items in acceptance order and moves their runs forward.
//!
//! One worker executes runs a batch at a time (see `executor::batch`), so runs start in
//! acceptance order and runs touching the same contact never interleave; acceptance never waits
//! for it. Tests and `clock advance` drain the queue with `run_one` instead of sleeping.

use super::executor::Executor;
use crate::domain::time::rfc3339;
use crate::niceness::{self, Job};
use crate::store::runs::{RunRecord, RunStatus};
use crate::store::{Store, StoreResult};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// The most queued items one transaction starts and moves: enough to share its fixed cost,
/// few enough that a failing run, which sends the batch round again one run at a time, costs
/// little.
const BATCH: usize = 64;

/// What one call of `run_one` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Work {
    EmptyQueue,
    TaskCompleted,
}

/// The queue consumer (and timer firer: see `scheduler`).
pub struct Worker {
    pub executor: Arc<Executor>,
    pub store: Store,
    pub queued: Arc<Notify>,
    /// Woken after a manual clock advance, so the retention sweep follows the clock at once.
    pub clock_moved: Arc<Notify>,
    /// Held while runs move or timers fire, so the loop and `clock advance` never interleave.
    gate: Mutex<()>,
}

impl Worker {
    /// The clock runs and timers follow (`GET /api/clock` shows it).
    pub fn clock(&self) -> &crate::store::clock::Clock {
        &self.executor.clock
    }

    /// Woken when an email is queued, so the mail sender does not poll.
    pub fn mail_wake(&self) -> Arc<Notify> {
        self.executor.mail_wake.clone()
    }

    /// A worker over the executor's store, woken by `queued`.
    pub fn new(executor: Arc<Executor>, queued: Arc<Notify>) -> Self {
        Self {
            store: executor.store.clone(),
            executor,
            queued,
            clock_moved: Arc::new(Notify::new()),
            gate: Mutex::new(()),
        }
    }

    /// Exclusive right to move runs and fire timers.
    pub(crate) fn gate(&self) -> MutexGuard<'_, ()> {
        self.gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the next queued items' runs and moves them as far as they go.
    pub fn run_one(&self) -> StoreResult<Work> {
        let _gate = self.gate();
        self.run_one_locked()
    }

    /// Starts the next queued items' runs (up to [`BATCH`]) and moves them as far as they go,
    /// compressing what they write against the store's own dictionary.
    fn run_one_locked(&self) -> StoreResult<Work> {
        self.store.learning_own_dictionary(|| self.run_batch())
    }

    fn run_batch(&self) -> StoreResult<Work> {
        let entries = self.store.queued(None, BATCH)?;
        if entries.is_empty() {
            return Ok(Work::EmptyQueue);
        }
        let now = rfc3339(self.executor.clock.now_ms());
        let started: Vec<_> = entries
            .into_iter()
            .map(|entry| (entry.seq, RunRecord::start(entry, now.clone())))
            .collect();
        self.executor.start_all(started)?;
        Ok(Work::TaskCompleted)
    }

    /// Finishes runs a crash or restart interrupted (they keep their ids), oldest first.
    pub fn resume_interrupted(&self) -> StoreResult<usize> {
        let _gate = self.gate();
        let mut resumed = 0;
        for id in self.store.active_runs()? {
            if let Some(run) = self.store.run(&id)? {
                if run.status == RunStatus::Running {
                    tracing::info!(run_id = %run.id, workflow = %run.workflow, "resuming run");
                    self.executor.advance(run)?;
                    resumed += 1;
                }
            }
        }
        Ok(resumed)
    }

    /// Drains the queue until it is empty; returns how many batches it took.
    pub fn drain(&self) -> StoreResult<usize> {
        let _gate = self.gate();
        self.drain_locked()
    }

    /// `drain` for a caller that holds the gate.
    pub(crate) fn drain_locked(&self) -> StoreResult<usize> {
        let mut n = 0;
        while self.run_one_locked()? == Work::TaskCompleted {
            n += 1;
        }
        Ok(n)
    }

    /// One pass of the loop: drain the queue, fire what is due; returns the next due time.
    fn tick(&self) -> StoreResult<Option<i64>> {
        self.drain()?;
        self.fire_due(self.executor.clock.now_ms())?;
        self.next_due()
    }

    /// Runs forever: resume interrupted runs, then drain the queue and fire due timers whenever
    /// woken or a timer comes due.
    pub async fn run_forever(self: Arc<Self>) {
        let own = OwnThread::start();
        let me = self.clone();
        if let Err(e) = own
            .run(move || me.resume_interrupted())
            .await
            .unwrap_or_else(|e| Err(crate::store::StoreError::Io(std::io::Error::other(e))))
        {
            tracing::error!(error = %e, "could not resume interrupted runs");
        }
        loop {
            let me = self.clone();
            let result = own.run(move || me.tick()).await;
            let mut sleep = Duration::from_secs(1);
            match result {
                Ok(Ok(Some(due))) => {
                    let until = (due - self.executor.clock.now_ms()).max(0) as u64;
                    sleep = sleep.min(Duration::from_millis(until));
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "worker error; retrying");
                    sleep = Duration::from_millis(500);
                }
                Err(e) => tracing::error!(error = %e, "worker panicked; retrying"),
            }
            // Woken by every acceptance or when the next timer is due; the 1 s cap is a safety
            // net (a manual clock moved by `clock advance` fires its own timers).
            let _ = tokio::time::timeout(sleep, self.queued.notified()).await;
        }
    }
}

/// The worker's own thread, which moves every run and fires every timer, at a lower CPU
/// priority than the threads that acknowledge requests (see [`crate::niceness`]): one
/// blocking-pool thread held for the worker's whole life, not a pool thread per tick. The
/// pool's threads come and go (sixty under load), and each that moved runs kept its own
/// allocator heap of partly used pages holding the records and sled nodes it made: under the
/// booking load that was most of the peak RSS. Being the pool's, the thread is waited for when
/// the runtime shuts down, as a tick in `spawn_blocking` was.
struct OwnThread {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// The worker thread's name, as `top -H`, `perf` and bench.sh's CPU by thread show it.
const THREAD_NAME: &str = "hookflow-runs";

impl OwnThread {
    /// Starts the thread (inside the runtime); it ends once this handle is dropped and its
    /// current job is done.
    fn start() -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        // The thread goes back to the pool only when the worker ends (at shutdown): an
        // unprivileged process could not raise its priority again anyway.
        tokio::task::spawn_blocking(move || {
            niceness::name_this_thread(THREAD_NAME);
            niceness::run_lowered("the run worker", queue)
        });
        Self { jobs }
    }

    /// Runs `job` on the thread and waits for it without blocking the runtime; a panic is an
    /// `Err` with its message, and the thread goes on.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job = move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            let _ = done.send(out.map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into())
            }));
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| "the worker thread stopped".to_string())?;
        result
            .await
            .unwrap_or_else(|_| Err("the worker thread stopped".into()))
    }
}

impl Worker {
    /// Empties the store's working data (see `Store::reset`) while no run moves.
    pub fn reset(&self, all: bool) -> StoreResult<()> {
        let _gate = self.gate();
        self.store.reset(all)?;
        // Every loaded workflow has a hook id again before anyone asks for its URL.
        for id in self.executor.catalog.current().workflows.keys() {
            self.store.hook_id_for(id)?;
        }
        self.store.flush_now()
    }
}

#[cfg(test)]
mod tests {
    use super::OwnThread;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_runs_on_the_one_thread_of_the_worker_even_when_sent_at_once() {
        let own = std::sync::Arc::new(OwnThread::start());
        let jobs = (0..32).map(|_| {
            let own = own.clone();
            tokio::spawn(async move { own.run(|| std::thread::current().id()).await.unwrap() })
        });
        let threads: Vec<_> = futures_util::future::join_all(jobs)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert!(threads.iter().all(|t| *t == threads[0]), "{threads:?}");
        assert_ne!(threads[0], std::thread::current().id());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_worker_thread_yields_the_cpu_to_the_threads_that_acknowledge() {
        use crate::niceness::{this_thread_nice, WORKER_NICE};
        let runtime_nice = this_thread_nice().unwrap();
        let own = OwnThread::start();
        let worker_nice = own.run(|| this_thread_nice().unwrap()).await.unwrap();
        assert_eq!(worker_nice, (runtime_nice + WORKER_NICE).min(19));
        assert_eq!(this_thread_nice().unwrap(), runtime_nice);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_worker_thread_has_its_own_name_in_proc_not_the_blocking_pools() {
        let own = OwnThread::start();
        let tid = own.run(crate::niceness::this_thread_id).await.unwrap();
        let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap();
        assert_eq!(comm.trim_end(), super::THREAD_NAME);
    }

    #[tokio::test]
    async fn a_job_that_panics_is_an_error_with_its_message_and_the_thread_goes_on() {
        let own = OwnThread::start();
        let err = own.run(|| -> u32 { panic!("store on fire") }).await;
        assert_eq!(err, Err("store on fire".to_string()));
        assert_eq!(own.run(|| 7).await, Ok(7));
    }
}
