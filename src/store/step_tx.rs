//! The transaction a workflow step runs in: the contact trees, the run record and the active
//! run index together, so a step's changes and the run's new position commit as one.
//!
//! Steps never see sled: they stop with [`Abort`], which carries either their own failure or a
//! store reason (a conflict sled retries, a storage error, a corrupt record). This boundary is
//! what a second store would implement.

use super::codec::decode;
use super::contacts::ContactTx;
use super::enrolments::EnrolmentTx;
use super::outbox::{insert_tx, OutboxError, OutboxRecord};
use super::runs::{save_run_tx, RunRecord};
use super::timers::TimerTx;
use super::txn::{self, TxTree};
use super::{Store, StoreError};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, UnabortableTransactionError,
};

/// Why a step's body stopped before its transaction committed.
#[derive(Debug)]
pub struct Abort<E>(Reason<E>);

#[derive(Debug)]
enum Reason<E> {
    /// The step's own failure: nothing is written.
    Failed(E),
    /// Another transaction touched the same keys; sled runs the body again.
    Conflict,
    /// The store failed or a record did not decode.
    Store(StoreError),
}

impl<E> Abort<E> {
    /// Stops the step with its own failure.
    pub fn fail(e: E) -> Self {
        Abort(Reason::Failed(e))
    }

    /// Changes the step's failure, keeping conflicts and store errors as they are.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> Abort<F> {
        Abort(match self.0 {
            Reason::Failed(e) => Reason::Failed(f(e)),
            Reason::Conflict => Reason::Conflict,
            Reason::Store(e) => Reason::Store(e),
        })
    }

    /// The step's own failure, or the store's reason to stop (as an abort of any type, so a
    /// caller that handles the failure passes the rest on).
    pub fn into_failure<F>(self) -> Result<E, Abort<F>> {
        match self.0 {
            Reason::Failed(e) => Ok(e),
            Reason::Conflict => Err(Abort(Reason::Conflict)),
            Reason::Store(e) => Err(Abort(Reason::Store(e))),
        }
    }
}

impl<E> From<StoreError> for Abort<E> {
    fn from(e: StoreError) -> Self {
        Abort(Reason::Store(e))
    }
}

impl<E> From<UnabortableTransactionError> for Abort<E> {
    fn from(e: UnabortableTransactionError) -> Self {
        match e {
            UnabortableTransactionError::Conflict => Abort(Reason::Conflict),
            UnabortableTransactionError::Storage(e) => Abort(Reason::Store(StoreError::Sled(e))),
        }
    }
}

/// The store modules that abort with their own error (contacts) convert through this.
impl<E> From<ConflictableTransactionError<E>> for Abort<E> {
    fn from(e: ConflictableTransactionError<E>) -> Self {
        match e {
            ConflictableTransactionError::Abort(e) => Abort(Reason::Failed(e)),
            ConflictableTransactionError::Conflict => Abort(Reason::Conflict),
            ConflictableTransactionError::Storage(e) => Abort(Reason::Store(StoreError::Sled(e))),
        }
    }
}

/// Result of a step's body.
pub type AbortResult<T, E> = Result<T, Abort<E>>;

/// What a step sees of the store inside its transaction.
pub struct StepTx<'a> {
    pub contacts: ContactTx<'a>,
    /// Queued items: a batch of runs starts in the transaction that moves them.
    queue: &'a TxTree<'a>,
    runs: &'a TxTree<'a>,
    active: &'a TxTree<'a>,
    runs_index: &'a TxTree<'a>,
    // Email: an outbox row commits with the step that sends it.
    outbox: &'a TxTree<'a>,
    outbox_bodies: &'a TxTree<'a>,
    outbox_pending: &'a TxTree<'a>,
    unsubscribe: &'a TxTree<'a>,
    // Sequences and time.
    pub timers: TimerTx<'a>,
    pub enrolments: EnrolmentTx<'a>,
}

impl StepTx<'_> {
    /// Writes the run's new state as part of the step.
    pub fn save_run<E>(&self, run: &RunRecord) -> AbortResult<(), E> {
        Ok(save_run_tx(self.runs, self.active, self.runs_index, run)?)
    }

    /// Removes the queue entry `seq` (its run starts in this transaction).
    pub fn dequeue<E>(&self, seq: u64) -> AbortResult<(), E> {
        Ok(self.queue.remove(seq.to_be_bytes())?)
    }

    /// Reads a run inside the transaction (a timer resuming it); a corrupt record is an error.
    pub fn run<E>(&self, id: &str) -> AbortResult<Option<RunRecord>, E> {
        match self.runs.get(id.as_bytes())? {
            Some(v) => Ok(Some(decode("runs", &v)?)),
            None => Ok(None),
        }
    }

    /// Queues an email (or records a skipped one) as part of the step.
    pub fn insert_email<E: From<OutboxError>>(
        &self,
        record: &OutboxRecord,
        contact_id: Option<&str>,
    ) -> AbortResult<(), E> {
        Ok(insert_tx(
            self.outbox,
            self.outbox_bodies,
            self.outbox_pending,
            self.unsubscribe,
            record,
            contact_id,
        )?)
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
    /// Runs `f` in one transaction over the contact, run, active-run, outbox, timer, enrolment
    /// and queue trees (run again when a value it read changed before the commit, so `f` must
    /// only read and write through `tx`).
    pub fn step_transaction<T, E>(
        &self,
        f: impl Fn(&StepTx<'_>) -> AbortResult<T, E>,
    ) -> Result<T, StepError<E>> {
        let (contacts, by_email, by_phone, timeline, contacts_index) = self.contacts.trees();
        let t = &self.trees;
        let o = &self.outbox;
        // A slice, not a tuple: sled's tuples stop at 14 trees.
        let trees: [&sled::Tree; 16] = [
            contacts,
            by_email,
            by_phone,
            timeline,
            contacts_index,
            &t.runs,
            &t.runs_active,
            &t.runs_index,
            o.outbox(),
            o.bodies(),
            o.pending(),
            o.unsubscribe(),
            // Sequences and time.
            &t.timers,
            &t.timers_by_owner,
            &t.enrolments,
            &t.queue,
        ];
        // Optimistic: the steps run without sled's process-wide lock (see `txn`).
        let result = txn::transaction(&trees, |view| {
            let [c, e, p, tl, ci, runs, active, runs_index, outbox, bodies, pending, unsub, timers, by_owner, enrolments, queue] =
                view
            else {
                unreachable!("one transactional tree per tree given");
            };
            let tx = StepTx {
                contacts: ContactTx::new(c, e, p, tl, ci),
                queue,
                runs,
                active,
                runs_index,
                outbox,
                outbox_bodies: bodies,
                outbox_pending: pending,
                unsubscribe: unsub,
                // Sequences and time.
                timers: TimerTx::new(timers, by_owner),
                enrolments: EnrolmentTx::new(enrolments),
            };
            // Only a conflict goes back to sled (to retry); the rest leave as they are.
            f(&tx).map_err(|Abort(reason)| match reason {
                Reason::Conflict => ConflictableTransactionError::Conflict,
                Reason::Failed(e) => ConflictableTransactionError::Abort(StepError::Failed(e)),
                Reason::Store(e) => ConflictableTransactionError::Abort(StepError::Store(e)),
            })
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StepError::Store(StoreError::Sled(e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_body_does_not_hold_up_the_requests_being_written_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .step_transaction(|tx| {
                assert!(tx.run::<()>("r1")?.is_none());
                // The committer writes requests while the worker's steps run: under sled's own
                // transaction this write would wait until the step body ended.
                let (done, wrote) = std::sync::mpsc::channel();
                let requests = store.trees.requests.clone();
                std::thread::spawn(move || {
                    requests.insert("01REQ", &b"{}"[..]).unwrap();
                    let _ = done.send(());
                });
                let waited = wrote.recv_timeout(std::time::Duration::from_secs(5));
                assert!(waited.is_ok(), "the request write waited for the step body");
                Ok(())
            })
            .unwrap();
        assert!(store.trees.requests.get("01REQ").unwrap().is_some());
    }

    #[test]
    fn a_corrupt_run_record_stops_the_step_with_a_store_error_instead_of_reading_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.trees.runs.insert("r1", &b"{not json"[..]).unwrap();
        let read = store.step_transaction(|tx| tx.run::<()>("r1"));
        match read {
            Err(StepError::Store(StoreError::Corrupt { tree, .. })) => assert_eq!(tree, "runs"),
            other => panic!("expected a corrupt-record error, got {other:?}"),
        }
    }

    #[test]
    fn a_corrupt_enrolment_stops_the_step_with_a_store_error_not_a_step_failure() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.trees.enrolments.insert("c1\0s", &b"[]"[..]).unwrap();
        let read = store.step_transaction(|tx| tx.enrolments.get::<()>("c1", "s"));
        match read {
            Err(StepError::Store(StoreError::Corrupt { tree, .. })) => {
                assert_eq!(tree, "enrolments")
            }
            other => panic!("expected a corrupt-record error, got {other:?}"),
        }
    }
}
