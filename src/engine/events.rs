//! The live events the engine publishes: runs that wait or finish, emails a step queued or
//! skipped, timers that fired.

use super::position::path_json;
use crate::domain::time::rfc3339;
use crate::events::{redact, EmailEvent, Event, RunEvent, StepEvent, TimerEvent};
use crate::store::runs::{RunRecord, RunStatus, StepRecord, StepStatus};
use crate::store::timers::{Timer, TimerKind};
use crate::store::Store;

/// A run's current status; for `failed` and `waiting`, the step it stopped at.
pub fn run(run: &RunRecord) -> Event {
    let stopped = matches!(run.status, RunStatus::Failed | RunStatus::Waiting);
    let step = run
        .steps
        .last()
        .filter(|s| stopped && matches!(s.status, StepStatus::Failed | StepStatus::Waiting))
        .map(|s| StepEvent {
            path: path_json(&s.path),
            kind: s.kind.clone(),
            status: step_status(s.status),
            error: s.error.as_deref().map(redact),
        });
    Event::Run(RunEvent {
        run_id: run.id.clone(),
        workflow: run.workflow.clone(),
        request_id: run.request_id.clone(),
        contact_id: run.contact_id.clone(),
        status: run.status.as_str().to_string(),
        step,
    })
}

/// What the run's last step made (see [`of_step`]).
pub fn of_last_step(store: &Store, run: &RunRecord) -> Option<Event> {
    of_step(store, run, run.steps.last()?)
}

/// What one of the run's steps made: the email a `send_email` queued (or skipped), the timer a
/// `wait` or an `add_to_sequence` scheduled.
pub fn of_step(store: &Store, run: &RunRecord, step: &StepRecord) -> Option<Event> {
    if step.kind == "wait" && step.status == StepStatus::Waiting {
        return Some(Event::Timer(TimerEvent {
            timer_id: step.output["timer_id"].as_str()?.to_string(),
            kind: "run_wait".into(),
            due_at: step.output["due_at"].as_str()?.to_string(),
            state: "scheduled".into(),
            run_id: Some(run.id.clone()),
            contact_id: None,
            sequence: None,
        }));
    }
    if step.kind == "add_to_sequence" && step.status == StepStatus::Succeeded {
        let sequence = step.input["sequence"].as_str()?;
        return enrolment_timer(store, run.contact_id.as_deref()?, sequence);
    }
    if step.kind != "send_email" {
        return None;
    }
    Some(Event::Email(EmailEvent {
        email_id: step.output["email_id"].as_str()?.to_string(),
        run_id: Some(run.id.clone()),
        contact_id: run.contact_id.clone(),
        workflow: Some(run.workflow.clone()),
        state: step.output["state"].as_str()?.to_string(),
        attempts: 0,
    }))
}

/// The timer a contact's enrolment in a sequence waits for now, as `scheduled`.
pub fn enrolment_timer(store: &Store, contact_id: &str, sequence: &str) -> Option<Event> {
    let owner = TimerKind::SequenceStep {
        contact_id: contact_id.to_string(),
        sequence: sequence.to_string(),
    };
    let t = store.timer_of(&owner).ok()??;
    Some(timer(&t, "scheduled"))
}

/// A timer that was `scheduled` or `fired`.
pub fn timer(t: &Timer, state: &str) -> Event {
    let (run_id, contact_id, sequence) = match &t.kind {
        TimerKind::RunWait { run_id } => (Some(run_id.clone()), None, None),
        TimerKind::SequenceStep {
            contact_id,
            sequence,
        } => (None, Some(contact_id.clone()), Some(sequence.clone())),
    };
    Event::Timer(TimerEvent {
        timer_id: t.id.clone(),
        kind: t.kind.name().to_string(),
        due_at: rfc3339(t.due_at),
        state: state.to_string(),
        run_id,
        contact_id,
        sequence,
    })
}

fn step_status(s: StepStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
