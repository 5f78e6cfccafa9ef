//! Many runs in one transaction: what the worker does with a full queue.
//!
//! A transaction per step cost more than the step (sled's multi-tree transactions have a large
//! fixed price), so the worker moves a whole batch of runs, every step of each until it waits
//! or finishes, in one step transaction: all of it commits or none of it does, and a crash
//! repeats nothing (the runs are still `running` and resume from where they were stored). A
//! run whose step fails would abort the whole batch, so then each run of the batch goes again
//! on its own through [`Executor::advance`], which records the failure.

use super::Executor;
use crate::domain::time::rfc3339;
use crate::store::runs::{RunRecord, RunStatus};
use crate::store::step_tx::{Abort, StepError};
use crate::store::StoreResult;
use crate::workflow::Workflow;
use std::sync::Arc;

/// Why a batch cannot commit as one.
#[derive(Debug)]
struct OneByOne;

impl Executor {
    /// Executes every run until it finishes, fails or waits, in one transaction when they all
    /// get there without failing, else each on its own.
    pub fn advance_all(&self, runs: Vec<RunRecord>) -> StoreResult<()> {
        let mut batch = Vec::with_capacity(runs.len());
        for run in runs {
            match self.workflow(&run.workflow, &run.version) {
                Ok(wf) if run.status == RunStatus::Running => batch.push((run, wf)),
                // A missing version is a failure `advance` records; other statuses are no-ops.
                _ => {
                    self.advance(run)?;
                }
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let started = rfc3339(now);
        let committed = self.store.step_transaction(|tx| {
            let mut done = Vec::with_capacity(batch.len());
            for (run, wf) in &batch {
                let mut run = run.clone();
                while run.status == RunStatus::Running {
                    let Some(path) = run.position.clone() else {
                        break;
                    };
                    let step = super::step_at(&wf.steps, &path).ok_or(Abort::fail(OneByOne))?;
                    run = self
                        .run_step(wf, step, &path, &run, now, &started, tx)
                        .map_err(|e| e.map(|_| OneByOne))?;
                }
                tx.save_run(&run)?;
                done.push(run);
            }
            Ok(done)
        });
        match committed {
            Ok(done) => {
                for ((before, wf), after) in batch.iter().zip(&done) {
                    self.announce(wf, before.steps.len(), after);
                }
                Ok(())
            }
            Err(StepError::Failed(OneByOne)) => {
                for (run, _) in batch {
                    self.advance(run)?;
                }
                Ok(())
            }
            Err(StepError::Store(e)) => Err(e),
        }
    }

    /// Publishes what a run did from its step `from` on, wakes the mailer if it queued email,
    /// and logs a finished run.
    fn announce(&self, wf: &Arc<Workflow>, from: usize, run: &RunRecord) {
        let mut emailed = false;
        for step in &run.steps[from..] {
            emailed |= step.kind == "send_email";
            if let Some(event) = super::super::events::of_step(&self.store, run, step) {
                self.events.publish(event);
            }
        }
        if emailed {
            self.mail_wake.notify_one();
        }
        if run.status != RunStatus::Running {
            self.events.publish(super::super::events::run(run));
        }
        if run.is_finished() {
            tracing::info!(run_id = %run.id, workflow = %wf.id, status = run.status.as_str(),
                steps = run.steps.len(), "run finished");
        }
    }
}
