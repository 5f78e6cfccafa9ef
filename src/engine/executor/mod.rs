//! Moves one run forward step by step. Each step's store changes, the run's new position and
//! its step record are one transaction: a crash repeats no step and loses none. A step that
//! fails changes nothing; the run is then marked failed in a second transaction.
//!
//! `impl Executor` is split by what it runs: this file a webhook's run, [`sequence`] an
//! enrolment's step when its timer fires, [`simulate`] a dry run. Each step's effect is
//! [`crate::engine::step::execute`].

mod batch;
pub mod sequence;
pub mod simulate;

use super::context::RunContext;
use super::position::{enter_branch, mark_failed, mark_succeeded, next_after, path_json, step_at};
use super::step::email::MailSettings;
use super::step::outcome::StepResult;
use super::step::outcome::{Next, StepFailure};
use super::step::{self as steps, StepEnv, Subject};
use super::template::Renderer;
use crate::domain::ids::WorkflowId;
use crate::domain::time::{rfc3339, Millis};
use crate::store::clock::Clock;
use crate::store::runs::{RunRecord, RunStatus, StepPath, StepRecord, StepStatus};
use crate::store::step_tx::StepError;
use crate::store::step_tx::{Abort, StepTx};
use crate::store::timers::Timer;
use crate::store::{Store, StoreResult};
use crate::workflow::live::LiveCatalog;
use crate::workflow::{Sequence, Step, Workflow};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Parsed versions by (id, version).
type VersionCache<T> = Mutex<HashMap<(String, String), Arc<T>>>;

/// Runs steps against the store.
pub struct Executor {
    pub store: Store,
    pub catalog: Arc<LiveCatalog>,
    pub clock: Clock,
    pub renderer: Arc<Renderer>,
    /// Region for phone numbers without a country code.
    pub region: String,
    /// Timezone of `wait: {until}` for contacts without one (`--timezone`).
    pub timezone: String,
    /// Sender and link base of emails.
    pub mail: MailSettings,
    /// Woken after a step queued an email, so delivery starts at once.
    pub mail_wake: Arc<Notify>,
    /// Where runs, emails and timers are announced.
    pub events: Arc<crate::events::EventBus>,
    /// Old workflow versions re-parsed from the store.
    versions: VersionCache<Workflow>,
    /// Old sequence versions likewise.
    sequence_versions: VersionCache<Sequence>,
}

impl Executor {
    /// An executor over the given parts.
    pub fn new(
        store: Store,
        catalog: Arc<LiveCatalog>,
        clock: Clock,
        renderer: Arc<Renderer>,
        region: String,
        timezone: String,
        mail: MailSettings,
    ) -> Self {
        Self {
            store,
            catalog,
            clock,
            renderer,
            region,
            timezone,
            mail,
            mail_wake: Arc::new(Notify::new()),
            events: Arc::default(),
            versions: VersionCache::default(),
            sequence_versions: VersionCache::default(),
        }
    }

    /// The same executor, announcing on `events`.
    pub fn with_events(mut self, events: Arc<crate::events::EventBus>) -> Self {
        self.events = events;
        self
    }

    /// The loaded version of a sequence: what a new enrolment starts on.
    pub fn current_sequence(&self, id: &str) -> Result<Arc<Sequence>, String> {
        let catalog = self.catalog.current();
        match catalog.sequences.iter().find(|(k, _)| k.as_str() == id) {
            Some((_, entry)) => entry.sequence.clone().map_err(|d| {
                format!(
                    "sequence `{id}` has errors ({}:{}:{}: {}); fix it before enrolling contacts",
                    d.file, d.line, d.column, d.message
                )
            }),
            None => Err(format!("sequence `{id}` is not loaded")),
        }
    }

    /// The sequence an enrolment started on: the loaded one if the version matches, else the
    /// stored text of that version.
    pub fn sequence(&self, id: &str, version: &str) -> Result<Arc<Sequence>, String> {
        if let Ok(seq) = self.current_sequence(id) {
            if seq.version == version {
                return Ok(seq);
            }
        }
        self.stored_version(
            &self.sequence_versions,
            "sequence",
            id,
            version,
            |sid, src| {
                let label = format!("sequences/{id}@{version}");
                crate::workflow::load_sequence_source(sid, &label, src, self.catalog.dir())
                    .map_err(|d| d.message)
            },
        )
    }

    /// The workflow a run started on: the loaded one if the version matches, else the stored
    /// text of that version.
    pub fn workflow(&self, id: &str, version: &str) -> Result<Arc<Workflow>, String> {
        let catalog = self.catalog.current();
        if let Some(Ok(wf)) = catalog
            .workflows
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, e)| &e.workflow)
        {
            if wf.version == version {
                return Ok(wf.clone());
            }
        }
        self.stored_version(&self.versions, "workflow", id, version, |wid, src| {
            let known = catalog.sequences.keys().cloned().collect();
            let label = format!("{id}@{version}");
            let env = |name: &str| std::env::var(name).ok();
            crate::workflow::load_workflow_source(
                wid,
                &label,
                src,
                &env,
                &known,
                self.catalog.dir(),
            )
            .map_err(|d| d.message)
        })
    }

    /// An old version from the store, parsed once and then kept in `cache`: a run or an
    /// enrolment finishes on the version it started on, even after the file changed.
    fn stored_version<T>(
        &self,
        cache: &VersionCache<T>,
        kind: &str,
        id: &str,
        version: &str,
        load: impl FnOnce(&WorkflowId, &str) -> Result<T, String>,
    ) -> Result<Arc<T>, String> {
        let key = (id.to_string(), version.to_string());
        if let Some(found) = cache.lock().expect("versions lock").get(&key) {
            return Ok(found.clone());
        }
        let source = self
            .store
            .version_source(id, version)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("version {version} of {kind} `{id}` is not stored"))?;
        let parsed = load(&WorkflowId::parse(id)?, &source)
            .map_err(|m| format!("version {version} of {kind} `{id}` no longer loads: {m}"))?;
        let parsed = Arc::new(parsed);
        cache
            .lock()
            .expect("versions lock")
            .insert(key, parsed.clone());
        Ok(parsed)
    }

    /// Executes the run's steps until it finishes, fails or waits.
    pub fn advance(&self, mut run: RunRecord) -> StoreResult<RunRecord> {
        let wf = match self.workflow(&run.workflow, &run.version) {
            Ok(wf) => wf,
            Err(msg) => return self.fail(run, None, "workflow", Value::Null, msg),
        };
        let context = RunContext::default();
        while run.status == RunStatus::Running {
            let Some(path) = run.position.clone() else {
                break;
            };
            if wf.steps.is_empty() {
                // A workflow with no steps yet (being built, like a GHL workflow with only its
                // trigger) has nothing to do: its runs succeed at once.
                let now = self.clock.now_ms();
                let done = self.store.step_transaction(|tx| {
                    let mut next = run.clone();
                    mark_succeeded(&mut next, now);
                    tx.save_run(&next)?;
                    Ok::<_, Abort<std::convert::Infallible>>(next)
                });
                run = match done {
                    Ok(next) => next,
                    Err(StepError::Store(e)) => return Err(e),
                    Err(StepError::Failed(never)) => match never {},
                };
                break;
            }
            let Some(step) = step_at(&wf.steps, &path) else {
                let msg = format!(
                    "position {} does not exist in this workflow version",
                    path_json(&path)
                );
                return self.fail(run, Some(path), "workflow", Value::Null, msg);
            };
            let started = rfc3339(self.clock.now_ms());
            let now = self.clock.now_ms();
            let committed = self.store.step_transaction(|tx| {
                let mut next = run.clone();
                self.run_step(&wf, step, &path, &mut next, now, &started, &context, tx)?;
                tx.save_run(&next)?;
                Ok(next)
            });
            match committed {
                Ok(next) => {
                    // Announced before the mailer wakes, so `queued` comes before `sending`.
                    self.events
                        .publish_all(super::events::of_last_step(&self.store, &next));
                    if matches!(step.kind, crate::workflow::StepKind::SendEmail(_)) {
                        self.mail_wake.notify_one();
                    }
                    run = next
                }
                Err(StepError::Failed(StepFailure { input, message })) => {
                    return self.fail(run, Some(path), step.kind.name(), input, message);
                }
                Err(StepError::Store(e)) => return Err(e),
            }
        }
        if run.status != RunStatus::Running {
            self.events.publish(super::events::run(&run));
        }
        if run.is_finished() {
            tracing::info!(run_id = %run.id, workflow = %run.workflow, status = run.status.as_str(), steps = run.steps.len(), "run finished");
        }
        Ok(run)
    }

    /// Executes the step at `path` of `run` inside `tx` and moves `run` past it: the step's
    /// record, the contact it found, its next position and status; on an error `run` is as it
    /// was. Real and dry runs both go through here; `context` is the run's own, kept between
    /// its steps within one transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_step(
        &self,
        wf: &Workflow,
        step: &Step,
        path: &StepPath,
        run: &mut RunRecord,
        now: Millis,
        started: &str,
        context: &RunContext,
        tx: &StepTx<'_>,
    ) -> StepResult<()> {
        let current = |id: &str| self.current_sequence(id);
        let env = StepEnv {
            renderer: &self.renderer,
            subject: Subject::Run {
                workflow: wf,
                run,
                path,
                context,
            },
            now_ms: now,
            region: &self.region,
            timezone: &self.timezone,
            current_sequence: &current,
            mail: &self.mail,
        };
        let outcome = steps::execute(&env, step, tx)?;
        // Changed in place (a run holds its payloads: a copy per step was a tenth of the work).
        let next = run;
        if let Some(contact) = outcome.contact_id {
            next.contact_id = contact;
        }
        next.steps.push(StepRecord {
            path: path.clone(),
            kind: step.kind.name().to_string(),
            status: outcome.status,
            input: outcome.input,
            output: outcome.output,
            error: None,
            started_at: started.to_string(),
            finished_at: rfc3339(now),
        });
        next.position = match outcome.next {
            Next::Continue => next_after(&wf.steps, path),
            Next::Branch(b) => enter_branch(&wf.steps, path, b),
            Next::Wait => {
                next.status = RunStatus::Waiting;
                Some(path.clone())
            }
        };
        if next.position.is_none() {
            mark_succeeded(next, now);
        }
        Ok(())
    }

    /// Fires a run's wait timer: in one transaction the timer goes, the wait step is marked
    /// `succeeded` and the run moves past it; then the run goes on. `None` when the timer was
    /// already gone or the run no longer waits (nothing is done twice).
    pub fn resume_wait(&self, timer: &Timer, run_id: &str) -> StoreResult<Option<RunRecord>> {
        let Some(run) = self.store.run(run_id)? else {
            self.drop_timer(timer)?;
            return Ok(None);
        };
        let wf = match self.workflow(&run.workflow, &run.version) {
            Ok(wf) => wf,
            Err(msg) => {
                self.drop_timer(timer)?;
                return self.fail(run, None, "workflow", Value::Null, msg).map(Some);
            }
        };
        let now = self.clock.now_ms();
        let resumed = self.store.step_transaction(|tx| {
            if !tx.timers.take(timer)? {
                return Ok(None);
            }
            let Some(mut run) = tx.run(run_id)? else {
                return Ok(None);
            };
            let Some(path) = run
                .position
                .clone()
                .filter(|_| run.status == RunStatus::Waiting)
            else {
                return Ok(None);
            };
            if let Some(rec) = run
                .steps
                .iter_mut()
                .rev()
                .find(|s| s.path == path && s.status == StepStatus::Waiting)
            {
                rec.status = StepStatus::Succeeded;
                rec.finished_at = rfc3339(now);
                if let Value::Object(o) = &mut rec.output {
                    o.insert("resumed_at".into(), Value::String(rfc3339(now)));
                }
            }
            run.position = next_after(&wf.steps, &path);
            run.status = RunStatus::Running;
            if run.position.is_none() {
                mark_succeeded(&mut run, now);
            }
            tx.save_run(&run)?;
            Ok::<_, Abort<()>>(Some(run))
        });
        match resumed {
            Ok(Some(run)) => self.advance(run).map(Some),
            Ok(None) => Ok(None),
            Err(StepError::Failed(())) => Ok(None),
            Err(StepError::Store(e)) => Err(e),
        }
    }

    /// Deletes a timer that has nothing left to resume.
    pub(crate) fn drop_timer(&self, timer: &Timer) -> StoreResult<()> {
        let r = self.store.step_transaction(|tx| {
            tx.timers.take(timer)?;
            Ok::<_, Abort<()>>(())
        });
        match r {
            Ok(()) | Err(StepError::Failed(())) => Ok(()),
            Err(StepError::Store(e)) => Err(e),
        }
    }

    /// Marks the run failed with a failed step record; the step's own changes were not applied.
    fn fail(
        &self,
        mut run: RunRecord,
        path: Option<StepPath>,
        kind: &str,
        input: Value,
        message: String,
    ) -> StoreResult<RunRecord> {
        mark_failed(&mut run, path, kind, input, message, self.clock.now_ms());
        self.store.save_run(&run)?;
        self.events.publish(super::events::run(&run));
        tracing::info!(run_id = %run.id, workflow = %run.workflow, status = "failed", "run failed");
        Ok(run)
    }
}
