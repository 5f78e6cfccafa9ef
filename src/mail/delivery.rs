//! Delivery: moving queued outbox records to `sent` or `failed`, with retries.
//!
//! Records go a batch at a time. Each attempt first marks the record `sending` and flushes that
//! to disk, then sends. So after a
//! crash a record is either still `queued` (never handed over: send it) or `sending` (handed over,
//! outcome unknown). [`Mailer::recover`] puts the latter back in the queue. That is the one case
//! where an email can go out twice, and the repeat carries the same `Message-ID`, which lets the
//! receiving side drop it; the alternative (never retrying) could lose an email instead.

use super::message::message_id;
use super::transport::{SendError, Transport};
use super::MailError;
use crate::domain::time::Millis;
use crate::store::outbox::{OutboxError, OutboxRecord, OutboxState, OutboxTrees, Transition};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The most records one batch takes: one pair of flushes covers them all.
const BATCH: usize = 256;

/// The most SMTP messages in flight at once within a batch (connections come from lettre's
/// pool); outbox mode writes a whole batch's files in one task (see `eml_files`).
const SENDING_AT_ONCE: usize = 16;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; it doubles after each further one.
    pub first_delay_ms: Millis,
    /// The longest wait between two attempts.
    pub max_delay_ms: Millis,
    /// After this many attempts a transient failure becomes `failed`.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 1s, 2s, 4s … capped at 5 minutes; 10 attempts (about 10 minutes in all).
    fn default() -> Self {
        Self {
            first_delay_ms: 1_000,
            max_delay_ms: 5 * 60 * 1_000,
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1-based).
    pub fn delay_after(&self, attempts: u32) -> Millis {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_delay_ms
            .saturating_mul(1 << doublings)
            .min(self.max_delay_ms)
    }
}

/// Sends due outbox records through one transport.
pub struct Mailer {
    trees: OutboxTrees,
    transport: Transport,
    policy: RetryPolicy,
    tick: Duration,
    events: Arc<crate::events::EventBus>,
    /// Set by [`Mailer::stop`]: finish the group in flight, attempt nothing more.
    stopping: std::sync::atomic::AtomicBool,
    stopped: Notify,
}

impl Mailer {
    /// A mailer over the outbox trees with the default retry policy.
    pub fn new(trees: OutboxTrees, transport: Transport) -> Self {
        Self::with_policy(trees, transport, RetryPolicy::default())
    }

    /// A mailer with an explicit retry policy.
    pub fn with_policy(trees: OutboxTrees, transport: Transport, policy: RetryPolicy) -> Self {
        Self {
            trees,
            transport,
            policy,
            tick: Duration::from_secs(1),
            events: Arc::default(),
            stopping: Default::default(),
            stopped: Notify::new(),
        }
    }

    /// Asks [`Mailer::run_forever`] to end once the group of sends in flight has ended and its
    /// outcomes are recorded, so a shutdown or a restart sends nothing twice; the emails of the
    /// batch not yet attempted go back to the queue.
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.stopped.notify_one();
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Announces every state change on `events`.
    pub fn with_events(mut self, events: Arc<crate::events::EventBus>) -> Self {
        self.events = events;
        self
    }

    /// How often [`Mailer::run_forever`] looks for due retries without a wake (default 1s).
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// The outbox trees this mailer works on.
    pub fn trees(&self) -> &OutboxTrees {
        &self.trees
    }

    /// At startup: records left `sending` by a crash go back to `queued`, keeping their
    /// Message-ID (see the module comment). Returns how many were requeued.
    pub fn recover(&self) -> Result<usize, MailError> {
        let mut requeued = 0;
        for record in self.trees.pending_rows()? {
            if record.state == OutboxState::Sending {
                self.trees.mark(&record.id, &Transition::Recover)?;
                tracing::warn!(email = %record.id, attempts = record.attempts,
                    "email delivery was unconfirmed at shutdown; it will be sent again with the same Message-ID");
                requeued += 1;
            }
        }
        Ok(requeued)
    }

    /// Attempts every queued record due at `now_ms`; returns how many attempts were made.
    /// Store failures stop the pass; send failures are recorded.
    pub async fn deliver_due(&self, now_ms: Millis) -> Result<usize, MailError> {
        let mut attempted = 0;
        loop {
            if self.is_stopping() {
                return Ok(attempted);
            }
            let due = self.trees.pending_due(now_ms, BATCH)?;
            let full = due.len() == BATCH;
            attempted += self.deliver_batch(due, now_ms).await?;
            if !full {
                return Ok(attempted);
            }
        }
    }

    /// The earliest `next_attempt_at` of a queued record, if any.
    pub fn next_due_at(&self) -> Result<Option<Millis>, MailError> {
        Ok(self
            .trees
            .pending_rows()?
            .iter()
            .filter(|r| r.state == OutboxState::Queued)
            .map(|r| r.next_attempt_at)
            .min())
    }

    /// One attempt at each record. Through SMTP, two flushes for the lot: all are marked
    /// `sending` and that is flushed, then they are sent [`SENDING_AT_ONCE`] at a time, each
    /// group's outcomes recorded as it ends, and the outcomes flushed. In outbox mode a send
    /// can be repeated with the same effect (the same `.eml` written again), so the `sending`
    /// mark is left out (the flush before the sends stays): a crash before an outcome is
    /// recorded leaves the email `queued`, and it is written again. Returns how many were attempted (another pass may
    /// have taken some).
    async fn deliver_batch(
        &self,
        mut due: Vec<OutboxRecord>,
        now_ms: Millis,
    ) -> Result<usize, MailError> {
        if due.is_empty() {
            return Ok(0);
        }
        let repeatable = self.transport.repeats_safely();
        let taken = if repeatable {
            // The rows themselves must be on disk before their files are: the worker commits
            // a batch of runs without waiting for a flush, and a row lost to a kill would be
            // made again by the run, under a new id, as a second file.
            self.trees.flush().await?;
            due
        } else {
            let sending: Vec<_> = due
                .iter()
                .map(|r| (r.id.as_str(), &Transition::Sending))
                .collect();
            let marked = self.trees.mark_rows(&sending)?;
            let mut taken = Vec::with_capacity(due.len());
            for (read, marked) in due.iter_mut().zip(marked) {
                match marked {
                    Ok(mut record) => {
                        self.events.publish(email_event(&record));
                        // The row came back without its body; the read record has it.
                        record.text = read.text.take();
                        record.html = read.html.take();
                        taken.push(record);
                    }
                    Err(OutboxError::WrongState { .. } | OutboxError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // On disk before the messages leave, so a crash cannot forget that they may have left.
            self.trees.flush().await?;
            taken
        };
        // Outcomes are recorded a group at a time, as the group's sends end: a crash then
        // repeats only what was in flight or not yet written (sled writes its log every half
        // second on its own), not the whole batch.
        let mut attempted = 0;
        // Outbox mode writes the whole batch in one task (see `eml_files`).
        let at_once = if repeatable {
            taken.len()
        } else {
            SENDING_AT_ONCE
        };
        for (n, group) in taken.chunks(at_once).enumerate() {
            if self.is_stopping() {
                if !repeatable {
                    let back: Vec<_> = taken[n * at_once..]
                        .iter()
                        .map(|r| (r.id.as_str(), &Transition::Recover))
                        .collect();
                    for record in self.trees.mark_rows(&back)?.into_iter().flatten() {
                        self.events.publish(email_event(&record));
                    }
                }
                break;
            }
            let outcomes = self.send_group(group).await;
            let changes: Vec<_> = group
                .iter()
                .zip(outcomes)
                .map(|(record, outcome)| {
                    // This attempt counts already when `sending` was marked, not yet otherwise.
                    let attempts = record.attempts + u32::from(repeatable);
                    let change = self.outcome_to_transition(record, attempts, outcome, now_ms);
                    log_outcome(record, attempts, &change);
                    if repeatable {
                        Transition::Attempted(Box::new(change))
                    } else {
                        change
                    }
                })
                .collect();
            let marks: Vec<_> = group
                .iter()
                .zip(&changes)
                .map(|(r, c)| (r.id.as_str(), c))
                .collect();
            for record in self.trees.mark_rows(&marks)?.into_iter().flatten() {
                attempted += 1;
                self.events.publish(email_event(&record));
            }
        }
        self.trees.flush().await?;
        Ok(if repeatable { attempted } else { taken.len() })
    }

    /// Sends a group (in outbox mode one batch of files, see [`Transport::send_all`]); each
    /// record's outcome, in order: the `.eml` path in outbox mode.
    async fn send_group(&self, group: &[OutboxRecord]) -> Vec<Result<Option<String>, SendError>> {
        self.transport
            .send_all(group.to_vec())
            .await
            .into_iter()
            .map(|sent| sent.map(|s| s.eml_path.map(|p| p.display().to_string())))
            .collect()
    }

    /// What an attempt's outcome makes of `record`, which has had `attempts` attempts, this one
    /// included.
    fn outcome_to_transition(
        &self,
        record: &OutboxRecord,
        attempts: u32,
        outcome: Result<Option<String>, SendError>,
        now_ms: Millis,
    ) -> Transition {
        match outcome {
            Ok(eml_path) => Transition::Sent {
                message_id: message_id(record),
                sent_at: now_ms,
                eml_path,
            },
            Err(e) if e.permanent => Transition::Failed { error: e.message },
            Err(e) if attempts >= self.policy.max_attempts => Transition::Failed {
                error: format!("gave up after {attempts} attempts: {}", e.message),
            },
            Err(e) => Transition::Retry {
                error: e.message,
                next_attempt_at: now_ms + self.policy.delay_after(attempts),
            },
        }
    }

    /// Delivers due records until [`Mailer::stop`] (or the task is aborted): after every `wake` (the engine notifies
    /// it after a commit that queued email; `notify_one` is not lost while a pass runs) and on a
    /// short timer for retries. `now` is hookflow's clock (real or manual). Call
    /// [`Mailer::recover`] once before starting it.
    pub async fn run_forever(self: Arc<Self>, wake: Arc<Notify>, now: impl Fn() -> Millis) {
        while !self.is_stopping() {
            let notified = wake.notified();
            tokio::pin!(notified);
            // Registered before the pass, so a `notify_waiters` during it still wakes us.
            notified.as_mut().enable();
            let mut pause = self.tick;
            match self.deliver_due(now()).await {
                Ok(_) => {
                    if let Ok(Some(due)) = self.next_due_at() {
                        let wait = (due - now()).clamp(0, self.tick.as_millis() as Millis);
                        pause = Duration::from_millis(wait as u64);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "email delivery pass failed; retrying after the tick")
                }
            }
            tokio::select! {
                _ = notified => {}
                _ = self.stopped.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Logs how an attempt ended (never the address or the message).
fn log_outcome(record: &OutboxRecord, attempts: u32, change: &Transition) {
    let id = &record.id;
    match change {
        Transition::Sent { .. } => tracing::info!(email = %id, run = ?record.run_id,
            attempts, "email sent"),
        Transition::Retry {
            error,
            next_attempt_at,
        } => tracing::warn!(email = %id,
            attempts, error = %error, next_attempt_at, "email delivery failed; will retry"),
        _ => {
            tracing::error!(email = %id, attempts, "email delivery failed for good")
        }
    }
}

/// The live event of an email's state (the bus fills in the workflow from the run).
fn email_event(r: &OutboxRecord) -> crate::events::Event {
    crate::events::Event::Email(crate::events::EmailEvent {
        email_id: r.id.clone(),
        run_id: r.run_id.clone(),
        contact_id: r.contact_id.clone(),
        workflow: None,
        state: r.state.as_str().to_string(),
        attempts: r.attempts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_caps_at_five_minutes() {
        let p = RetryPolicy::default();
        let delays: Vec<_> = (1..=10).map(|n| p.delay_after(n)).collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]
        );
        assert_eq!(p.delay_after(1_000), 300_000);
    }
}
