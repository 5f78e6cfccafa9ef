//! The transaction a workflow step runs in: the contact trees, the run record and the active
//! run index together, so a step's changes and the run's new position commit as one.

use super::contacts::ContactTx;
use super::enrolments::EnrolmentTx;
use super::outbox::{insert_tx, OutboxError, OutboxRecord};
use super::runs::{save_run_tx, RunRecord};
use super::timers::TimerTx;
use super::{Store, StoreError};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
    UnabortableTransactionError,
};

/// What a step sees of the store inside its transaction.
pub struct StepTx<'a> {
    pub contacts: ContactTx<'a>,
    runs: &'a TransactionalTree,
    active: &'a TransactionalTree,
    // Email: an outbox row commits with the step that sends it.
    outbox: &'a TransactionalTree,
    outbox_pending: &'a TransactionalTree,
    unsubscribe: &'a TransactionalTree,
    // Sequences and time.
    pub timers: TimerTx<'a>,
    pub enrolments: EnrolmentTx<'a>,
}

impl StepTx<'_> {
    /// Writes the run's new state as part of the step.
    pub fn save_run(&self, run: &RunRecord) -> Result<(), UnabortableTransactionError> {
        save_run_tx(self.runs, self.active, run)
    }

    /// Reads a run inside the transaction (a timer resuming it).
    pub fn run(&self, id: &str) -> Result<Option<RunRecord>, UnabortableTransactionError> {
        Ok(self
            .runs
            .get(id.as_bytes())?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Queues an email (or records a skipped one) as part of the step.
    pub fn insert_email<E: From<OutboxError>>(
        &self,
        record: &OutboxRecord,
        contact_id: Option<&str>,
    ) -> Result<(), ConflictableTransactionError<E>> {
        insert_tx(
            self.outbox,
            self.outbox_pending,
            self.unsubscribe,
            record,
            contact_id,
        )
    }
}

/// Why a step transaction did not commit.
#[derive(Debug)]
pub enum StepError<E> {
    /// The step aborted with its own error; nothing was written.
    Failed(E),
    /// The store failed.
    Store(StoreError),
}

impl Store {
    /// Runs `f` in one transaction over the contact, run, active-run, outbox, timer and enrolment
    /// trees (retried by sled on conflict, so `f` must only read and write through `tx`).
    pub fn step_transaction<T, E>(
        &self,
        f: impl Fn(&StepTx<'_>) -> Result<T, ConflictableTransactionError<E>>,
    ) -> Result<T, StepError<E>> {
        let (contacts, by_email, by_phone, timeline) = self.contacts.trees();
        let t = &self.trees;
        let o = &self.outbox;
        let result = (
            contacts,
            by_email,
            by_phone,
            timeline,
            &t.runs,
            &t.runs_active,
            o.outbox(),
            o.pending(),
            o.unsubscribe(),
            // Sequences and time.
            &t.timers,
            &t.timers_by_owner,
            &t.enrolments,
        )
            .transaction(
                |(
                    c,
                    e,
                    p,
                    tl,
                    runs,
                    active,
                    outbox,
                    pending,
                    unsub,
                    timers,
                    by_owner,
                    enrolments,
                )| {
                    let tx = StepTx {
                        contacts: ContactTx::new(c, e, p, tl),
                        runs,
                        active,
                        outbox,
                        outbox_pending: pending,
                        unsubscribe: unsub,
                        // Sequences and time.
                        timers: TimerTx::new(timers, by_owner),
                        enrolments: EnrolmentTx::new(enrolments),
                    };
                    f(&tx)
                },
            );
        result.map_err(|e| match e {
            TransactionError::Abort(e) => StepError::Failed(e),
            TransactionError::Storage(e) => StepError::Store(StoreError::Sled(e)),
        })
    }
}
