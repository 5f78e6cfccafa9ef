//! Durable timers: what a `wait` or a sequence is waiting for, in due-time order.
//!
//! `timers` is keyed `due_ms (u64 BE) ++ timer_id`, so the first key is always the next timer
//! and a scan is in due order. `timers_by_owner` maps the owner (a run, or a contact's
//! enrolment in a sequence) to that key, so a transaction can find and cancel an owner's timer
//! with point reads only. Timers are written and deleted inside the step transaction whose
//! effect they belong to, so each fires exactly once, even across crashes.

use super::codec::{decode, encode};
use super::txn::TxTree;
use super::{Store, StoreResult};
use crate::domain::time::Millis;
use serde::{Deserialize, Serialize};
use sled::transaction::UnabortableTransactionError;

/// What a timer resumes when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// A workflow run waiting at a `wait` step.
    RunWait { run_id: String },
    /// The next step of a contact's enrolment in a sequence.
    SequenceStep {
        contact_id: String,
        sequence: String,
    },
}

impl TimerKind {
    /// The owner key of the index: one timer per run and per enrolment.
    fn owner(&self) -> Vec<u8> {
        match self {
            TimerKind::RunWait { run_id } => format!("run\0{run_id}").into_bytes(),
            TimerKind::SequenceStep {
                contact_id,
                sequence,
            } => format!("seq\0{contact_id}\0{sequence}").into_bytes(),
        }
    }

    /// `run_wait` or `sequence_step`.
    pub fn name(&self) -> &'static str {
        match self {
            TimerKind::RunWait { .. } => "run_wait",
            TimerKind::SequenceStep { .. } => "sequence_step",
        }
    }
}

/// One scheduled timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    /// ULID; breaks ties between timers due in the same millisecond, oldest first.
    pub id: String,
    /// When it is due (hookflow's clock, ms).
    pub due_at: Millis,
    #[serde(flatten)]
    pub kind: TimerKind,
}

impl Timer {
    /// A new timer due at `due_at`. Its id is monotonic, so timers due in the same millisecond
    /// fire in the order they were made.
    pub fn new(due_at: Millis, kind: TimerKind) -> Self {
        Self {
            id: crate::domain::ids::new_ulid(),
            due_at,
            kind,
        }
    }

    /// Its key in `timers`: due time first, so key order is firing order.
    pub fn key(&self) -> Vec<u8> {
        let mut k = (self.due_at.max(0) as u64).to_be_bytes().to_vec();
        k.extend_from_slice(self.id.as_bytes());
        k
    }
}

type TxResult<T> = Result<T, UnabortableTransactionError>;

/// The timer trees inside a step transaction.
pub struct TimerTx<'a> {
    timers: &'a TxTree<'a>,
    by_owner: &'a TxTree<'a>,
}

impl<'a> TimerTx<'a> {
    /// Wraps the transactional views of `timers` and `timers_by_owner`.
    pub fn new(timers: &'a TxTree<'a>, by_owner: &'a TxTree<'a>) -> Self {
        Self { timers, by_owner }
    }

    /// Schedules `timer`, replacing any timer its owner already had.
    pub fn schedule(&self, timer: &Timer) -> TxResult<()> {
        self.cancel(&timer.kind)?;
        let key = timer.key();
        self.timers.insert(key.clone(), encode(timer))?;
        self.by_owner.insert(timer.kind.owner(), key)?;
        Ok(())
    }

    /// Deletes the owner's timer; returns whether there was one.
    pub fn cancel(&self, owner: &TimerKind) -> TxResult<bool> {
        match self.by_owner.take(owner.owner())? {
            Some(key) => {
                self.timers.remove(key)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Deletes exactly this timer (when it fires); false when it is already gone, i.e. it
    /// fired or was cancelled in the meantime.
    pub fn take(&self, timer: &Timer) -> TxResult<bool> {
        if self.timers.take(timer.key())?.is_none() {
            return Ok(false);
        }
        let owner = timer.kind.owner();
        if self
            .by_owner
            .get(&owner)?
            .is_some_and(|k| k.as_ref() == timer.key().as_slice())
        {
            self.by_owner.remove(owner)?;
        }
        Ok(true)
    }
}

/// A page of timers in due order; the cursor is the key of the last one, in hex.
#[derive(Debug, Clone, Serialize)]
pub struct TimerPage {
    pub items: Vec<Timer>,
    pub next_cursor: Option<String>,
}

impl Store {
    /// The earliest timer, if any.
    pub fn next_timer(&self) -> StoreResult<Option<Timer>> {
        match self.trees.timers.first()? {
            Some((_, v)) => Ok(Some(decode("timers", &v)?)),
            None => Ok(None),
        }
    }

    /// The timer an owner (a run, or an enrolment) has now, if any.
    pub fn timer_of(&self, owner: &TimerKind) -> StoreResult<Option<Timer>> {
        let Some(key) = self.trees.timers_by_owner.get(owner.owner())? else {
            return Ok(None);
        };
        match self.trees.timers.get(key)? {
            Some(v) => Ok(Some(decode("timers", &v)?)),
            None => Ok(None),
        }
    }

    /// The earliest timer due at or before `now`.
    pub fn next_due_timer(&self, now: Millis) -> StoreResult<Option<Timer>> {
        Ok(self.next_timer()?.filter(|t| t.due_at <= now))
    }

    /// Timers in due order, after `cursor`.
    pub fn timers(&self, cursor: Option<&str>, limit: usize) -> StoreResult<TimerPage> {
        let start = match cursor {
            Some(c) => {
                let mut k = hex_decode(c).ok_or_else(|| super::StoreError::Corrupt {
                    tree: "timers",
                    message: format!("cursor {c:?} is not one this server gave"),
                })?;
                k.push(0); // just after the last key returned
                k
            }
            None => Vec::new(),
        };
        let mut items = Vec::new();
        let mut next_cursor = None;
        for kv in self.trees.timers.range(start..) {
            let (_, v) = kv?;
            if items.len() == limit {
                next_cursor = items.last().map(|t: &Timer| hex_encode(&t.key()));
                break;
            }
            items.push(decode("timers", &v)?);
        }
        Ok(TimerPage { items, next_cursor })
    }

    /// How many timers are scheduled.
    pub fn timer_count(&self) -> usize {
        self.trees.timers.len()
    }

    /// Empties both timer trees (`hookflow reset`).
    pub fn clear_timers(&self) -> StoreResult<()> {
        self.trees.timers.clear()?;
        self.trees.timers_by_owner.clear()?;
        Ok(())
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn run(id: &str) -> TimerKind {
        TimerKind::RunWait { run_id: id.into() }
    }

    #[test]
    fn timers_come_out_in_due_order_whatever_the_order_they_were_written_in() {
        let (_d, store) = store();
        for (due, id) in [(3_000, "c"), (1_000, "a"), (2_000, "b"), (1_000, "a2")] {
            store
                .step_transaction(|tx| {
                    tx.timers.schedule(&Timer::new(due, run(id)))?;
                    Ok::<_, crate::store::step_tx::Abort<()>>(())
                })
                .unwrap();
        }
        let page = store.timers(None, 10).unwrap();
        let order: Vec<_> = page
            .items
            .iter()
            .map(|t| match &t.kind {
                TimerKind::RunWait { run_id } => run_id.as_str(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, ["a", "a2", "b", "c"]);
        assert_eq!(store.next_due_timer(999).unwrap(), None);
        assert_eq!(store.next_due_timer(1_000).unwrap().unwrap().due_at, 1_000);
        let first = store.timers(None, 2).unwrap();
        let rest = store.timers(first.next_cursor.as_deref(), 10).unwrap();
        assert_eq!(first.items.len() + rest.items.len(), 4);
        assert_eq!(rest.items[0].due_at, 2_000);
        assert!(rest.next_cursor.is_none());
    }

    #[test]
    fn a_timer_is_taken_once_and_rescheduling_replaces_the_owners_timer() {
        let (_d, store) = store();
        let t1 = Timer::new(1_000, run("r"));
        let t2 = Timer::new(5_000, run("r"));
        let take = |t: &Timer| {
            store
                .step_transaction(|tx| {
                    Ok::<_, crate::store::step_tx::Abort<()>>(tx.timers.take(t)?)
                })
                .unwrap()
        };
        store
            .step_transaction(|tx| {
                tx.timers.schedule(&t1)?;
                tx.timers.schedule(&t2)?;
                Ok::<_, crate::store::step_tx::Abort<()>>(())
            })
            .unwrap();
        assert_eq!(store.timer_count(), 1, "one timer per owner");
        assert!(!take(&t1), "the replaced timer is gone");
        assert!(take(&t2));
        assert!(!take(&t2), "a timer fires once");
        assert_eq!(store.timer_count(), 0);
    }
}
