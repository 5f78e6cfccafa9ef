//! Dry runs: a workflow's steps executed against the current store inside one transaction that
//! is always aborted, so the trace is exactly what a real run would do and nothing is written,
//! queued or sent.

use super::executor::Executor;
use super::outcome::{Next, StepFailure};
use super::run::{enter_branch, next_after, step_at};
use super::steps::{self, StepEnv};
use crate::domain::time::rfc3339;
use crate::store::runs::{RunRecord, RunStatus, Seg, StepRecord, StepStatus};
use crate::store::step_tx::Abort;
use crate::store::step_tx::StepError;
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
        let base = RunRecord {
            id: "simulation".into(),
            workflow: wf.id.to_string(),
            version: wf.version.clone(),
            request_id: String::new(),
            index: 0,
            contact_id: None,
            status: RunStatus::Running,
            position: Some(vec![Seg::Index(0)]),
            steps: Vec::new(),
            error: None,
            created_at: rfc3339(now),
            finished_at: None,
            item: item.clone(),
            request: request.clone(),
            accepted_at: now,
        };
        let outcome = self.store.step_transaction(|tx| {
            let mut run = base.clone();
            while let Some(path) = run.position.clone() {
                let Some(step) = step_at(&wf.steps, &path) else {
                    break;
                };
                let env = StepEnv {
                    renderer: &self.renderer,
                    workflow: wf,
                    run: &run,
                    path: &path,
                    now_ms: now,
                    region: &self.region,
                    timezone: &self.timezone,
                    current_sequence: &|id| self.current_sequence(id),
                    mail: &self.mail,
                };
                let record = |status, input, output, error| StepRecord {
                    path: path.clone(),
                    kind: step.kind.name().to_string(),
                    status,
                    input,
                    output,
                    error,
                    started_at: rfc3339(now),
                    finished_at: rfc3339(now),
                };
                if let StepKind::Wait(_) = step.kind {
                    run.steps
                        .push(record(StepStatus::Waiting, Value::Null, Value::Null, None));
                    run.status = RunStatus::Waiting;
                    break;
                }
                match steps::execute(&env, step, tx) {
                    Ok(out) => {
                        if let Some(c) = out.contact_id {
                            run.contact_id = c;
                        }
                        run.steps
                            .push(record(out.status, out.input, out.output, None));
                        run.position = match out.next {
                            Next::Continue => next_after(&wf.steps, &path),
                            Next::Branch(b) => enter_branch(&wf.steps, &path, b),
                            Next::Wait => {
                                run.status = RunStatus::Waiting;
                                None
                            }
                        };
                    }
                    Err(e) => {
                        let StepFailure { input, message } = e.into_failure()?;
                        run.steps.push(record(
                            StepStatus::Failed,
                            input,
                            Value::Null,
                            Some(message.clone()),
                        ));
                        run.status = RunStatus::Failed;
                        run.error = Some(message);
                        break;
                    }
                }
            }
            if run.status == RunStatus::Running {
                run.status = RunStatus::Succeeded;
            }
            // Always abort: the trace leaves through the error, the changes stay unwritten.
            Err(Abort::fail(StepFailure {
                input: serde_json::to_value(&run).unwrap_or_default(),
                message: String::new(),
            }))
        });
        match outcome {
            Ok(()) => Err("the dry run unexpectedly committed".into()),
            Err(StepError::Failed(StepFailure { input, .. })) => {
                let run: RunRecord = serde_json::from_value(input).map_err(|e| e.to_string())?;
                Ok(Trace {
                    status: run.status,
                    contact_id: run.contact_id,
                    steps: run.steps,
                    error: run.error,
                })
            }
            Err(StepError::Store(e)) => Err(e.to_string()),
        }
    }
}
