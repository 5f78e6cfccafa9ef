//! The worker: takes queued items in acceptance order and moves their runs forward.
//!
//! One worker executes runs one step-transaction at a time, so runs start in acceptance order
//! and runs touching the same contact never interleave; acceptance never waits for it. Tests
//! and `clock advance` drain the queue with `run_one` instead of sleeping.

use super::executor::Executor;
use crate::domain::time::rfc3339;
use crate::store::runs::{RunRecord, RunStatus};
use crate::store::{Store, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// What one call of `run_one` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Work {
    EmptyQueue,
    TaskCompleted,
}

/// The queue consumer.
pub struct Worker {
    pub executor: Arc<Executor>,
    pub store: Store,
    pub queued: Arc<Notify>,
}

impl Worker {
    /// Starts the next queued item's run and moves it as far as it goes.
    pub fn run_one(&self) -> StoreResult<Work> {
        let Some(entry) = self.store.queued(None, 1)?.into_iter().next() else {
            return Ok(Work::EmptyQueue);
        };
        let now = self.executor.clock.now_ms();
        let run = RunRecord {
            id: entry.run_id.clone(),
            workflow: entry.workflow.clone(),
            version: entry.version.clone(),
            request_id: entry.request_id.clone(),
            index: entry.index,
            contact_id: None,
            status: RunStatus::Running,
            position: Some(vec![crate::store::runs::Seg::Index(0)]),
            steps: Vec::new(),
            error: None,
            created_at: rfc3339(now),
            finished_at: None,
            item: entry.item.clone(),
            request: entry.request.clone(),
            accepted_at: entry.accepted_at,
        };
        let run = self.store.start_run(&entry, &run)?;
        self.executor.advance(run)?;
        Ok(Work::TaskCompleted)
    }

    /// Finishes runs a crash or restart interrupted (they keep their ids), oldest first.
    pub fn resume_interrupted(&self) -> StoreResult<usize> {
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

    /// Drains the queue until it is empty.
    pub fn drain(&self) -> StoreResult<usize> {
        let mut n = 0;
        while self.run_one()? == Work::TaskCompleted {
            n += 1;
        }
        Ok(n)
    }

    /// Runs forever: resume interrupted runs, then drain the queue whenever woken.
    pub async fn run_forever(self: Arc<Self>) {
        let me = self.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || me.resume_interrupted())
            .await
            .unwrap_or_else(|e| {
                Err(crate::store::StoreError::Io(std::io::Error::other(
                    e.to_string(),
                )))
            })
        {
            tracing::error!(error = %e, "could not resume interrupted runs");
        }
        loop {
            let me = self.clone();
            let result = tokio::task::spawn_blocking(move || me.drain()).await;
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "worker error; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => tracing::error!(error = %e, "worker panicked; retrying"),
            }
            // Woken by every acceptance; the timeout is a safety net, not the mechanism.
            let _ = tokio::time::timeout(Duration::from_secs(1), self.queued.notified()).await;
        }
    }
}
