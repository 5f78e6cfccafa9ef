//! Runs one step of an enrolment when its timer fires: in one transaction the timer goes, the
//! step's changes are made, and the enrolment moves on (next timer, or `completed`). A step
//! that fails does not stop the sequence: the enrolment records the error and goes on with the
//! next step, as GHL skips a failed action.

use super::Executor;
use crate::domain::contact::EnrolmentState;
use crate::domain::time::{rfc3339, Millis};
use crate::engine::context::enrolment_change;
use crate::engine::step::enrol::{apply_plan, plan_from, store_enrolment, Plan};
use crate::engine::step::outcome::{fail, StepFailure, StepOutcome};
use crate::engine::step::{self as steps, lift, lift_msg, StepEnv, Subject};
use crate::store::step_tx::StepError;
use crate::store::timers::Timer;
use crate::store::StoreResult;
use crate::workflow::{Sequence, StepKind};
use serde_json::{json, Value};
use std::sync::Arc;

/// What firing a sequence timer did.
enum Fired<'s> {
    /// Nothing was due: `already_fired`, `not_enrolled`, `not_active` or `contact_deleted`.
    Idle(&'static str),
    /// The enrolment moved on, after running the step at `index` (none when it was past its
    /// last step).
    Ran {
        index: usize,
        step: Option<(&'s StepKind, Box<StepOutcome>)>,
        state: EnrolmentState,
        plan: Plan,
    },
}

impl Fired<'_> {
    /// The detail `clock advance` and the logs show.
    fn detail(&self) -> Value {
        match self {
            Fired::Idle(outcome) => json!({ "outcome": outcome }),
            Fired::Ran {
                index,
                step,
                state,
                plan,
            } => json!({
                "outcome": "ran",
                "step": step.as_ref().map(|_| index),
                "kind": step.as_ref().map(|(k, _)| k.name()),
                "status": step.as_ref().map(|(_, s)| s.status),
                "input": step.as_ref().map(|(_, s)| s.input.clone()),
                "output": step.as_ref().map(|(_, s)| s.output.clone()),
                "state": state,
                "next_step": plan.due.map(|_| plan.step),
                "next_due_at": plan.due.map(rfc3339),
            }),
        }
    }
}

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
        let current = |id: &str| self.current_sequence(id);
        let done = self.store.step_transaction(|tx| {
            if !tx.timers.take(timer)? {
                return Ok(Fired::Idle("already_fired"));
            }
            let Some(mut record) = tx.enrolments.get(contact_id, sequence)? else {
                return Ok(Fired::Idle("not_enrolled"));
            };
            if record.state != EnrolmentState::Active {
                return Ok(Fired::Idle("not_active"));
            }
            if lift(tx.contacts.get(contact_id), &Value::Null)?.is_none() {
                record.state = EnrolmentState::Cancelled;
                record.next_due_at = None;
                tx.enrolments.put(&record)?;
                return Ok(Fired::Idle("contact_deleted"));
            }
            let seq = match &seq {
                Ok(s) if s.version == record.version => s,
                Ok(_) => {
                    return fail(
                        &Value::Null,
                        "the enrolment's sequence version changed while it ran",
                    )
                }
                Err(e) => return fail(&Value::Null, e),
            };
            let index = record.step;
            let step = match seq.steps.get(index) {
                Some(step) => {
                    let env = StepEnv {
                        renderer: &self.renderer,
                        subject: Subject::Enrolment {
                            sequence: seq,
                            contact_id,
                            index,
                        },
                        now_ms: now,
                        region: &self.region,
                        timezone: &self.timezone,
                        current_sequence: &current,
                        mail: &self.mail,
                    };
                    Some((&step.kind, Box::new(steps::execute(&env, step, tx)?)))
                }
                None => None,
            };
            // The step may have changed the contact (tags, DND): continue from what it wrote.
            let Some(contact) = lift(tx.contacts.get(contact_id), &Value::Null)? else {
                return fail(&Value::Null, "the enrolled contact no longer exists");
            };
            let plan = plan_from(
                &seq.steps,
                (index + 1).min(seq.steps.len()),
                now,
                contact.timezone.as_deref(),
                &self.timezone,
            )
            .or_else(|m| fail(&Value::Null, m))?;
            apply_plan(&mut record, plan, now);
            record.last_error = None;
            let change = enrolment_change(sequence, index, now);
            lift_msg(
                store_enrolment(tx, &contact, &record, &change),
                &Value::Null,
            )?;
            Ok(Fired::Ran {
                index,
                step,
                state: record.state,
                plan,
            })
        });
        let detail = match done {
            Ok(fired) => {
                if let Fired::Ran {
                    step: Some((StepKind::SendEmail(_), _)),
                    ..
                } = &fired
                {
                    self.mail_wake.notify_one();
                }
                if let Fired::Ran {
                    plan: Plan { due: Some(_), .. },
                    ..
                } = &fired
                {
                    let next =
                        crate::engine::events::enrolment_timer(&self.store, contact_id, sequence);
                    self.events.publish_all(next);
                }
                fired.detail()
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
            let Some(mut record) = tx.enrolments.get(contact_id, sequence)? else {
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
                    .unwrap_or(Plan {
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
            let change = enrolment_change(sequence, index, now);
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
}
