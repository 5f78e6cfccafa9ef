//! Enrolments: a contact's place in a sequence, keyed `contact_id \0 sequence`.
//!
//! The record here is the source of truth (it carries the sequence version the enrolment
//! started on); the contact's `sequences` list is its public copy, kept in step in the same
//! transaction by the engine.

use super::codec::{decode, encode};
use super::step_tx::AbortResult;
use super::txn::TxTree;
use super::{Store, StoreResult};
use crate::domain::contact::{Enrolment, EnrolmentState};
use crate::domain::time::Millis;
use serde::{Deserialize, Serialize};

/// One contact's enrolment in one sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolmentRecord {
    pub contact_id: String,
    pub sequence: String,
    /// The sequence version the enrolment started on; it finishes on it.
    pub version: String,
    pub state: EnrolmentState,
    /// Index of the next step to run.
    pub step: usize,
    /// When that step is due; `None` once nothing is scheduled.
    pub next_due_at: Option<Millis>,
    pub enrolled_at: Millis,
    pub updated_at: Millis,
    /// Why the last step failed (the enrolment went on with the next one).
    #[serde(default)]
    pub last_error: Option<String>,
}

impl EnrolmentRecord {
    /// The contact-facing copy (`contact.sequences[]`).
    pub fn public(&self) -> Enrolment {
        Enrolment {
            sequence: self.sequence.clone(),
            step: self.step,
            next_due_at: self.next_due_at,
            state: self.state,
        }
    }
}

fn key(contact_id: &str, sequence: &str) -> Vec<u8> {
    format!("{contact_id}\0{sequence}").into_bytes()
}

/// The enrolment tree inside a step transaction.
pub struct EnrolmentTx<'a> {
    tree: &'a TxTree<'a>,
}

impl<'a> EnrolmentTx<'a> {
    /// Wraps the transactional view of `enrolments`.
    pub fn new(tree: &'a TxTree<'a>) -> Self {
        Self { tree }
    }

    /// The contact's enrolment in `sequence`, if it was ever enrolled; a corrupt record is a
    /// store error.
    pub fn get<E>(
        &self,
        contact_id: &str,
        sequence: &str,
    ) -> AbortResult<Option<EnrolmentRecord>, E> {
        match self.tree.get(key(contact_id, sequence))? {
            Some(v) => Ok(Some(decode("enrolments", &v)?)),
            None => Ok(None),
        }
    }

    /// Writes an enrolment.
    pub fn put<E>(&self, record: &EnrolmentRecord) -> AbortResult<(), E> {
        self.tree
            .insert(key(&record.contact_id, &record.sequence), encode(record))?;
        Ok(())
    }
}

/// Enrolment counts of one sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EnrolmentCounts {
    pub active: usize,
    pub completed: usize,
    pub cancelled: usize,
}

impl Store {
    /// Every enrolment in `sequence`, in contact id order (oldest contact first).
    pub fn enrolments_of(&self, sequence: &str) -> StoreResult<Vec<EnrolmentRecord>> {
        let mut out = Vec::new();
        for kv in self.trees.enrolments.iter() {
            let (_, v) = kv?;
            let r: EnrolmentRecord = decode("enrolments", &v)?;
            if r.sequence == sequence {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// One enrolment.
    pub fn enrolment(
        &self,
        contact_id: &str,
        sequence: &str,
    ) -> StoreResult<Option<EnrolmentRecord>> {
        match self.trees.enrolments.get(key(contact_id, sequence))? {
            Some(v) => Ok(Some(decode("enrolments", &v)?)),
            None => Ok(None),
        }
    }

    /// Counts by state of every sequence that has enrolments.
    pub fn enrolment_counts(
        &self,
    ) -> StoreResult<std::collections::BTreeMap<String, EnrolmentCounts>> {
        let mut out = std::collections::BTreeMap::<String, EnrolmentCounts>::new();
        for kv in self.trees.enrolments.iter() {
            let (_, v) = kv?;
            let r: EnrolmentRecord = decode("enrolments", &v)?;
            let c = out.entry(r.sequence).or_default();
            match r.state {
                EnrolmentState::Active => c.active += 1,
                EnrolmentState::Completed => c.completed += 1,
                EnrolmentState::Cancelled => c.cancelled += 1,
            }
        }
        Ok(out)
    }

    /// Empties the enrolments (`hookflow reset`).
    pub fn clear_enrolments(&self) -> StoreResult<()> {
        self.trees.enrolments.clear()?;
        Ok(())
    }
}
