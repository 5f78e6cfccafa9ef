//! Dry runs: a workflow's steps executed against the current store inside one transaction that
//! is always aborted, so the trace is exactly what a real run would do and nothing is written,
//! queued or sent.

use super::Executor;
use crate::domain::time::rfc3339;
use crate::engine::context::RunContext;
use crate::engine::position::{mark_failed, step_at};
use crate::engine::step::outcome::StepFailure;
use crate::store::queue::QueueEntry;
use crate::store::runs::{RunRecord, RunStatus, StepRecord, StepStatus};
use crate::store::step_tx::{Abort, StepError};
use crate::workflow::{StepKind, Workflow};
use serde_json::Value;

/// What a dry run of one item would do.
#[derive(Debug, serde::Serialize)]
pub struct Trace {
    pub status: RunStatus,
    pub contact_id: Option<String>,
    pub steps: Vec<StepRecord>,
    pub error: Option<String>,
}

impl Executor {
    /// Runs `wf` on `item` without keeping any change.
    pub fn simulate(&self, wf: &Workflow, item: &Value, request: &Value) -> Result<Trace, String> {
        let now = self.clock.now_ms();
        let entry = QueueEntry {
            seq: 0,
            run_id: "simulation".into(),
            request_id: String::new(),
            index: 0,
            workflow: wf.id.to_string(),
            version: wf.version.clone(),
            item: item.clone(),
            request: request.clone(),
            accepted_at: now,
        };
        let base = RunRecord::start(entry, rfc3339(now));
        // Always aborted: the finished run leaves as the abort's value, its changes unwritten.
        let outcome = self.store.step_transaction::<(), Box<RunRecord>>(|tx| {
            let mut run = base.clone();
            let context = RunContext::default();
            while run.status == RunStatus::Running {
                let Some(path) = run.position.clone() else {
                    break;
                };
                let Some(step) = step_at(&wf.steps, &path) else {
                    break;
                };
                // A dry run shows where a run would wait; it does not plan the wait.
                if let StepKind::Wait(_) = step.kind {
                    run.steps.push(StepRecord {
                        path,
                        kind: step.kind.name().to_string(),
                        status: StepStatus::Waiting,
                        input: Value::Null,
                        output: Value::Null,
                        error: None,
                        started_at: rfc3339(now),
                        finished_at: rfc3339(now),
                    });
                    run.status = RunStatus::Waiting;
                    break;
                }
                match self.run_step(wf, step, &path, &mut run, now, &rfc3339(now), &context, tx) {
                    Ok(()) => {}
                    Err(abort) => {
                        let StepFailure { input, message } = abort.into_failure()?;
                        mark_failed(&mut run, Some(path), step.kind.name(), input, message, now);
                    }
                }
            }
            if run.status == RunStatus::Running {
                run.status = RunStatus::Succeeded;
            }
            Err(Abort::fail(Box::new(run)))
        });
        match outcome {
            Ok(()) => Err("the dry run unexpectedly committed".into()),
            Err(StepError::Failed(run)) => Ok(Trace {
                status: run.status,
                contact_id: run.contact_id,
                steps: run.steps,
                error: run.error,
            }),
            Err(StepError::Store(e)) => Err(e.to_string()),
        }
    }
}
