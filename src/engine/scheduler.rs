//! Fires durable timers: run waits and enrolment steps, in due order, each in its own
//! transaction (the timer's deletion and its effect commit together), so each fires exactly
//! once, and what became due during downtime fires late, once, at the next start.
//!
//! The worker's loop fires what is due after each drain of the queue (so runs and timers
//! never interleave); `advance_clock` moves a manual clock, stopping at each due time in turn.

use super::worker::Worker;
use crate::domain::time::ClockMode;
use crate::domain::time::{rfc3339, Millis};
use crate::store::timers::{Timer, TimerKind};
use crate::store::{StoreError, StoreResult};
use serde::Serialize;
use serde_json::Value;

/// One fired timer, as `clock advance` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub timer: String,
    pub kind: &'static str,
    pub due_at: String,
    pub fired_at: String,
    /// `run_id`, `status` for a run wait; `contact_id`, `sequence`, `detail` for a sequence step.
    #[serde(flatten)]
    pub detail: Value,
}

/// The answer of `advance_clock`.
#[derive(Debug, Clone, Serialize)]
pub struct Advanced {
    pub now: String,
    pub fired: Vec<Fired>,
}

/// Why the clock could not be advanced.
#[derive(Debug, thiserror::Error)]
pub enum AdvanceError {
    /// Only a manual clock moves on request.
    #[error("the clock is real; start the server with --clock manual to move time by hand")]
    RealClock,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Worker {
    /// Fires every timer due at or before `now`, earliest first.
    pub fn fire_due(&self, now: Millis) -> StoreResult<Vec<Fired>> {
        let _gate = self.gate();
        let mut fired = Vec::new();
        while let Some(t) = self.store.next_due_timer(now)? {
            fired.push(self.fire(&t)?);
        }
        Ok(fired)
    }

    /// Finishes queued runs, then moves a manual clock forward by `by_ms`, firing what becomes
    /// due in time order with the clock set to each due time, and leaves it at the target.
    pub fn advance_clock(&self, by_ms: Millis) -> Result<Advanced, AdvanceError> {
        let clock = &self.executor.clock;
        if clock.mode() != ClockMode::Manual {
            return Err(AdvanceError::RealClock);
        }
        let _gate = self.gate();
        self.drain_locked()?;
        let target = clock.now_ms().saturating_add(by_ms);
        let mut fired = Vec::new();
        while let Some(t) = self.store.next_due_timer(target)? {
            clock.set_manual(t.due_at, false)?;
            fired.push(self.fire(&t)?);
        }
        let now = clock.set_manual(target, true)?;
        self.clock_moved.notify_one();
        Ok(Advanced {
            now: rfc3339(now),
            fired,
        })
    }

    /// When the next timer is due, if any.
    pub fn next_due(&self) -> StoreResult<Option<Millis>> {
        Ok(self.store.next_timer()?.map(|t| t.due_at))
    }

    /// Fires one timer (the caller holds the gate).
    fn fire(&self, t: &Timer) -> StoreResult<Fired> {
        let fired_at = self.executor.clock.now_ms();
        self.executor
            .events
            .publish(super::events::timer(t, "fired"));
        let detail = match &t.kind {
            TimerKind::RunWait { run_id } => {
                let run = self.executor.resume_wait(t, run_id)?;
                serde_json::json!({
                    "run_id": run_id,
                    "status": run.as_ref().map(|r| r.status.as_str()),
                })
            }
            TimerKind::SequenceStep {
                contact_id,
                sequence,
            } => self.executor.fire_sequence_step(t, contact_id, sequence)?,
        };
        if self.store.next_timer()?.as_ref() == Some(t) {
            // Only unreadable records get here; never fire the same timer forever.
            tracing::warn!(timer = %t.id, "timer could not be fired; dropped");
            self.executor.drop_timer(t)?;
        }
        tracing::debug!(timer = %t.id, kind = t.kind.name(), late_ms = fired_at - t.due_at, "timer fired");
        Ok(Fired {
            timer: t.id.clone(),
            kind: t.kind.name(),
            due_at: rfc3339(t.due_at),
            fired_at: rfc3339(fired_at),
            detail,
        })
    }
}
