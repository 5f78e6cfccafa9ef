//! Runs one step of an enrolment when its timer fires: in one transaction the timer goes, the
//! step's changes are made, and the enrolment moves on (next timer, or `completed`). A step
//! that fails does not stop the sequence: the enrolment records the error and goes on with the
//! next step, as GHL skips a failed action.

use super::email::{send_email, EmailCtx};
use super::enrol::{apply_plan, plan_from, store_enrolment};
use super::executor::Executor;
use super::steps::{self, lift, lift_msg, outcome, Render, StepFailure, StepOutcome, StepResult};
use super::template::Context;
use crate::domain::contact::{Actor, Contact, EnrolmentState};
use crate::domain::time::{rfc3339, Millis};
use crate::store::contacts::ChangeCtx;
use crate::store::runs::StepStatus;
use crate::store::step_tx::{StepError, StepTx};
use crate::store::timers::Timer;
use crate::store::StoreResult;
use crate::workflow::{Sequence, StepKind};
use serde_json::{json, Map, Value};
use sled::transaction::ConflictableTransactionError as Tx;
use std::sync::Arc;

impl Executor {
    /// Fires a `SequenceStep` timer; returns what happened, for `clock advance` and logs.
    pub fn fire_sequence_step(
        &self,
        timer: &Timer,
        contact_id: &str,
        sequence: &str,
    ) -> StoreResult<Value> {
        let now = self.clock.now_ms();
        let seq = match self.store.enrolment(contact_id, sequence)? {
            Some(e) => self.sequence(sequence, &e.version),
            None => Err(format!("no enrolment of {contact_id} in `{sequence}`")),
        };
        let done = self.store.step_transaction(|tx| {
            if !tx.timers.take(timer)? {
                return Ok(json!({"outcome": "already_fired"}));
            }
            let Some(mut record) = lift_msg(tx.enrolments.get(contact_id, sequence), &Value::Null)?
            else {
                return Ok(json!({"outcome": "not_enrolled"}));
            };
            if record.state != EnrolmentState::Active {
                return Ok(json!({"outcome": "not_active"}));
            }
            let Some(contact) = lift(tx.contacts.get(contact_id), &Value::Null)? else {
                record.state = EnrolmentState::Cancelled;
                record.next_due_at = None;
                lift_msg(tx.enrolments.put(&record), &Value::Null)?;
                return Ok(json!({"outcome": "contact_deleted"}));
            };
            let seq = match &seq {
                Ok(s) if s.version == record.version => s,
                Ok(_) => {
                    return steps_fail("the enrolment's sequence version changed while it ran")
                }
                Err(e) => return steps_fail(e),
            };
            let index = record.step;
            let change = change_ctx(sequence, index, now);
            let step = match seq.steps.get(index) {
                Some(step) => {
                    Some(self.sequence_step(seq, &step.kind, &contact, &change, now, tx)?)
                }
                None => None,
            };
            // The step may have changed the contact (tags, DND): continue from what it wrote.
            let contact = lift(tx.contacts.get(contact_id), &Value::Null)?.unwrap_or(contact);
            let plan = plan_from(
                &seq.steps,
                (index + 1).min(seq.steps.len()),
                now,
                contact.timezone.as_deref(),
                &self.timezone,
            )
            .map_err(|m| {
                Tx::Abort(StepFailure {
                    input: Value::Null,
                    message: m,
                })
            })?;
            apply_plan(&mut record, plan, now);
            record.last_error = None;
            lift_msg(
                store_enrolment(tx, &contact, &record, &change),
                &Value::Null,
            )?;
            Ok(json!({
                "outcome": "ran",
                "step": step.as_ref().map(|_| index),
                "kind": seq.steps.get(index).map(|s| s.kind.name()),
                "status": step.as_ref().map(|s| s.status),
                "input": step.as_ref().map(|s| s.input.clone()),
                "output": step.as_ref().map(|s| s.output.clone()),
                "state": record.state,
                "next_step": plan.due.map(|_| plan.step),
                "next_due_at": plan.due.map(rfc3339),
            }))
        });
        let detail = match done {
            Ok(v) => {
                if v["kind"] == "send_email" {
                    self.mail_wake.notify_one();
                }
                let next = super::events::enrolment_timer(&self.store, contact_id, sequence);
                self.events
                    .publish_all(next.filter(|_| v["next_due_at"].is_string()));
                v
            }
            Err(StepError::Store(e)) => return Err(e),
            Err(StepError::Failed(f)) => {
                self.skip_failed_step(timer, contact_id, sequence, seq, f, now)?
            }
        };
        tracing::info!(contact_id, sequence, outcome = %detail["outcome"], step = %detail["step"], "sequence step");
        Ok(json!({"contact_id": contact_id, "sequence": sequence, "detail": detail}))
    }

    /// After a failed step: the enrolment keeps the error and goes on with the next step (or is
    /// cancelled when its sequence version cannot be loaded at all).
    fn skip_failed_step(
        &self,
        timer: &Timer,
        contact_id: &str,
        sequence: &str,
        seq: Result<Arc<Sequence>, String>,
        failure: StepFailure,
        now: Millis,
    ) -> StoreResult<Value> {
        tracing::warn!(contact_id, sequence, error = %failure.message, "sequence step failed");
        let done = self.store.step_transaction(|tx| {
            if !tx.timers.take(timer)? {
                return Ok(json!({"outcome": "already_fired"}));
            }
            let Some(mut record) = lift_msg(tx.enrolments.get(contact_id, sequence), &Value::Null)?
            else {
                return Ok(json!({"outcome": "not_enrolled"}));
            };
            let Some(contact) = lift(tx.contacts.get(contact_id), &Value::Null)? else {
                return Ok(json!({"outcome": "contact_deleted"}));
            };
            let index = record.step;
            record.last_error = Some(failure.message.clone());
            match &seq {
                Ok(seq) if seq.version == record.version => {
                    let plan = plan_from(
                        &seq.steps,
                        (index + 1).min(seq.steps.len()),
                        now,
                        contact.timezone.as_deref(),
                        &self.timezone,
                    )
                    .unwrap_or(super::enrol::Plan {
                        step: seq.steps.len(),
                        due: None,
                    });
                    apply_plan(&mut record, plan, now);
                }
                _ => {
                    record.state = EnrolmentState::Cancelled;
                    record.next_due_at = None;
                    record.updated_at = now;
                }
            }
            let change = change_ctx(sequence, index, now);
            lift_msg(
                store_enrolment(tx, &contact, &record, &change),
                &Value::Null,
            )?;
            Ok(json!({
                "outcome": "failed", "step": index, "error": failure.message,
                "input": failure.input, "state": record.state,
                "next_due_at": record.next_due_at.map(rfc3339),
            }))
        });
        match done {
            Ok(v) => Ok(v),
            Err(StepError::Store(e)) => Err(e),
            Err(StepError::Failed(f)) => Ok(json!({"outcome": "failed", "error": f.message})),
        }
    }

    /// One non-wait step of a sequence, for `contact`.
    fn sequence_step(
        &self,
        seq: &Sequence,
        kind: &StepKind,
        contact: &Contact,
        change: &ChangeCtx,
        now: Millis,
        tx: &StepTx<'_>,
    ) -> StepResult<StepOutcome> {
        let ctx = sequence_context(seq, contact, now);
        let r = Render {
            renderer: &self.renderer,
            ctx: &ctx,
        };
        match kind {
            StepKind::SendEmail(spec) => {
                // DND contacts get `skipped` (unless transactional) from the email subsystem.
                let email = EmailCtx {
                    renderer: &self.renderer,
                    ctx: &ctx,
                    contact: Some(contact),
                    settings: &self.mail,
                    run_id: None,
                    now_ms: now,
                };
                let (status, input, output) = send_email(&email, spec, tx)?;
                Ok(outcome(status, input, output))
            }
            StepKind::Wait(_) => Ok(outcome(StepStatus::Succeeded, Value::Null, Value::Null)),
            other => steps::contact_step(&r, other, &Some(contact.clone()), change, tx),
        }
    }
}

/// The sequence's template names: `contact`, `sequence`, `workflow` (the sequence too), `now`.
pub fn sequence_context(seq: &Sequence, contact: &Contact, now: Millis) -> Context {
    let mut vars = Map::new();
    let me = json!({"id": seq.id.as_str(), "name": seq.name});
    vars.insert(
        "contact".into(),
        serde_json::to_value(contact).expect("contacts serialise"),
    );
    vars.insert("sequence".into(), me.clone());
    vars.insert("workflow".into(), me);
    vars.insert("now".into(), Value::String(rfc3339(now)));
    Context { vars }
}

fn change_ctx(sequence: &str, index: usize, now: Millis) -> ChangeCtx {
    ChangeCtx {
        now,
        run_id: None,
        step: Some(format!("{sequence}[{index}]")),
        actor: Actor::Run,
    }
}

fn steps_fail<T>(message: impl Into<String>) -> StepResult<T> {
    Err(Tx::Abort(StepFailure {
        input: Value::Null,
        message: message.into(),
    }))
}
