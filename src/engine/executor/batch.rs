//! Many runs in one transaction: what the worker does with a full queue.
//!
//! A transaction per step cost more than the step (sled's multi-tree transactions have a large
//! fixed price), so the worker starts a whole batch of queued runs and moves each, every step
//! until it waits or finishes, in one step transaction: the queue entries go and the runs are
//! written once, as they end up; all of it commits or none of it does, and a crash repeats
//! nothing (the entries are still queued, or the runs are stored where they got to). A run
//! whose step fails would abort the whole batch, so then the batch starts as before (its runs
//! stored `running`) and each run goes on its own through [`Executor::advance`], which records
//! the failure.

use super::Executor;
use crate::domain::time::rfc3339;
use crate::engine::context::RunContext;
use crate::store::runs::{RunRecord, RunStatus};
use crate::store::step_tx::{Abort, StepError, StepTx};
use crate::store::StoreResult;
use crate::workflow::Workflow;
use std::sync::Arc;

/// Why a batch cannot commit as one.
#[derive(Debug)]
struct OneByOne;

impl Executor {
    /// Starts the runs of these queue entries (by sequence number) and executes each until it
    /// finishes, fails or waits: in one transaction when they all get there without failing,
    /// else each on its own.
    pub fn start_all(&self, started: Vec<(u64, RunRecord)>) -> StoreResult<()> {
        let mut batch = Vec::with_capacity(started.len());
        for (seq, run) in &started {
            match self.workflow(&run.workflow, &run.version) {
                Ok(wf) => batch.push((*seq, run, wf)),
                // A missing version is a failure `advance` records.
                Err(_) => return self.one_by_one(&started),
            }
        }
        let now = self.clock.now_ms();
        let begun = rfc3339(now);
        let committed = self.store.step_transaction(|tx| {
            let mut done = Vec::with_capacity(batch.len());
            for (seq, fresh, wf) in &batch {
                tx.dequeue(*seq)?;
                // Stored already only if an older version started it without moving it.
                let run = match tx.run(&fresh.id)? {
                    Some(stored) => stored,
                    None => (*fresh).clone(),
                };
                let from = run.steps.len();
                let run = self.move_on(wf, run, now, &begun, tx)?;
                tx.save_run(&run)?;
                done.push((run, from));
            }
            Ok(done)
        });
        match committed {
            Ok(done) => {
                for ((_, _, wf), (run, from)) in batch.iter().zip(&done) {
                    self.announce(wf, *from, run);
                }
                Ok(())
            }
            Err(StepError::Failed(OneByOne)) => self.one_by_one(&started),
            Err(StepError::Store(e)) => Err(e),
        }
    }

    /// Stores the runs `running` (as the queue entries go) and moves each on its own.
    fn one_by_one(&self, started: &[(u64, RunRecord)]) -> StoreResult<()> {
        for run in self.store.start_runs(started)? {
            self.advance(run)?;
        }
        Ok(())
    }

    /// Executes `run`'s steps while it is running; a failing step stops the whole batch.
    fn move_on(
        &self,
        wf: &Workflow,
        mut run: RunRecord,
        now: i64,
        begun: &str,
        tx: &StepTx<'_>,
    ) -> Result<RunRecord, Abort<OneByOne>> {
        let context = RunContext::default();
        while run.status == RunStatus::Running {
            let Some(path) = run.position.clone() else {
                break;
            };
            if wf.steps.is_empty() {
                super::mark_succeeded(&mut run, now);
                break;
            }
            let step = super::step_at(&wf.steps, &path).ok_or(Abort::fail(OneByOne))?;
            self.run_step(wf, step, &path, &mut run, now, begun, &context, tx)
                .map_err(|e| e.map(|_| OneByOne))?;
        }
        Ok(run)
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
