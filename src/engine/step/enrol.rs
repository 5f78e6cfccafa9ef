//! The enrolment rules of DESIGN.md "Sequences", inside a step transaction: `add_to_sequence`
//! is a no-op while the enrolment is active and starts again (at step 0, on the sequence's
//! current version) after it completed or was cancelled; `remove_from_sequence` cancels.
//!
//! Invariant: an active enrolment always has exactly one `SequenceStep` timer, due when its
//! next step is. Each firing runs one step and schedules the next in the same transaction,
//! so a crash can neither skip nor repeat a step. Waits are never "run": planning skips over
//! them and adds their time to the due time.

use crate::domain::contact::{Contact, EnrolmentState};
use crate::domain::duration::format_duration;
use crate::domain::time::Millis;
use crate::engine::wait::due_at;
use crate::store::contacts::{set_enrolment, ChangeCtx};
use crate::store::enrolments::EnrolmentRecord;
use crate::store::step_tx::{Abort, StepTx};
use crate::store::timers::{Timer, TimerKind};
use crate::workflow::{Sequence, Step, StepKind, Wait};
use serde_json::{json, Value};

/// Enrolment results; `Abort` carries the message of a step failure.
pub type EnrolResult<T> = Result<T, Abort<String>>;

/// The next step to run and when, or `None` when the sequence is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Index of the next step (past the waits); `steps.len()` when only waits were left.
    pub step: usize,
    /// When it is due; `None` = completed.
    pub due: Option<Millis>,
}

/// Plans from step `from` at `now`: waits add to the due time; the first other step (or the
/// end, after trailing waits) is what the timer will run.
pub fn plan_from(
    steps: &[Step],
    from: usize,
    now: Millis,
    zone: Option<&str>,
    fallback: &str,
) -> Result<Plan, String> {
    let mut due = now;
    let mut i = from;
    let mut waited = false;
    while let Some(Step {
        kind: StepKind::Wait(w),
        ..
    }) = steps.get(i)
    {
        due = due_at(w, due, zone, fallback)?.0;
        waited = true;
        i += 1;
    }
    if i >= steps.len() && !waited {
        return Ok(Plan {
            step: steps.len(),
            due: None,
        });
    }
    Ok(Plan {
        step: i,
        due: Some(due),
    })
}

/// Writes the enrolment, its timer (or its timer's removal) and the contact's copy.
pub fn store_enrolment(
    tx: &StepTx<'_>,
    contact: &Contact,
    record: &EnrolmentRecord,
    change: &ChangeCtx,
) -> EnrolResult<Contact> {
    tx.enrolments.put(record)?;
    let kind = TimerKind::SequenceStep {
        contact_id: record.contact_id.clone(),
        sequence: record.sequence.clone(),
    };
    match (record.state, record.next_due_at) {
        (EnrolmentState::Active, Some(due)) => tx.timers.schedule(&Timer::new(due, kind))?,
        _ => {
            tx.timers.cancel(&kind)?;
        }
    }
    set_enrolment(&tx.contacts, contact, record.public(), change)
        .map_err(|e| Abort::from(e).map(|e| e.to_string()))
}

/// Record as it should be after planning: active with a due time, or completed.
pub fn apply_plan(record: &mut EnrolmentRecord, plan: Plan, now: Millis) {
    record.step = plan.step;
    record.next_due_at = plan.due;
    record.updated_at = now;
    if plan.due.is_none() {
        record.state = EnrolmentState::Completed;
    }
}

/// `add_to_sequence`: returns whether the contact was (re-)enrolled, and the step's output.
pub fn enrol(
    tx: &StepTx<'_>,
    contact: &Contact,
    seq: &Sequence,
    now: Millis,
    fallback_tz: &str,
    change: &ChangeCtx,
) -> EnrolResult<(bool, Value)> {
    let existing = tx.enrolments.get(&contact.id, seq.id.as_str())?;
    if let Some(e) = existing
        .as_ref()
        .filter(|e| e.state == EnrolmentState::Active)
    {
        return Ok((
            false,
            json!({"state": "active", "step": e.step, "already_active": true}),
        ));
    }
    let plan = plan_from(&seq.steps, 0, now, contact.timezone.as_deref(), fallback_tz)
        .map_err(Abort::fail)?;
    let mut record = EnrolmentRecord {
        contact_id: contact.id.clone(),
        sequence: seq.id.to_string(),
        version: seq.version.clone(),
        state: EnrolmentState::Active,
        step: 0,
        next_due_at: None,
        enrolled_at: now,
        updated_at: now,
        last_error: None,
    };
    apply_plan(&mut record, plan, now);
    store_enrolment(tx, contact, &record, change)?;
    let restarted = existing.map(|e| e.state);
    Ok((
        true,
        json!({
            "state": record.state,
            "step": record.step,
            "next_due_at": record.next_due_at.map(crate::domain::time::rfc3339),
            "restarted_after": restarted,
        }),
    ))
}

/// `remove_from_sequence`: cancels an active enrolment and its timer; false when not active.
pub fn unenrol(
    tx: &StepTx<'_>,
    contact: &Contact,
    sequence: &str,
    now: Millis,
    change: &ChangeCtx,
) -> EnrolResult<bool> {
    let Some(mut record) = tx.enrolments.get(&contact.id, sequence)? else {
        return Ok(false);
    };
    if record.state != EnrolmentState::Active {
        return Ok(false);
    }
    record.state = EnrolmentState::Cancelled;
    record.next_due_at = None;
    record.updated_at = now;
    store_enrolment(tx, contact, &record, change)?;
    Ok(true)
}

/// A wait as shown in step inputs: `{"for": "1h30m"}` or `{"until": "09:00"}`.
pub fn wait_json(w: &Wait) -> Value {
    match w {
        Wait::For(d) => json!({"for": format_duration(*d)}),
        Wait::Until { hour, minute } => json!({"until": format!("{hour:02}:{minute:02}")}),
    }
}

#[cfg(test)]
mod tests;
