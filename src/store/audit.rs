//! An offline consistency check of the store's indexes (`hookflow audit`).
//!
//! Every index here is written in the same transaction as the record it points at, so after
//! any crash each one must agree with its records. The crash harness (`scripts/crash.sh`)
//! runs this after every kill -9; a mismatch means a transaction was torn or an index write
//! was forgotten. It only reads, one record at a time (memory stays bounded), and counts.

use super::codec::decode;
use super::enrolments::EnrolmentRecord;
use super::runs::{RunRecord, RunStatus};
use super::timers::{Timer, TimerKind};
use super::{Store, StoreResult};
use crate::domain::contact::{Contact, EnrolmentState};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How many problems are described by text in [`AuditReport::examples`].
const MAX_EXAMPLES: usize = 20;

/// What was checked and what disagreed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Records read.
    pub checked: Checked,
    /// Records that disagree with another record (all must be 0).
    pub mismatches: Mismatches,
    /// The first problems found, in words (at most 20).
    pub examples: Vec<String>,
}

/// Counts of the records read.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub contacts: usize,
    pub email_index: usize,
    pub phone_index: usize,
    pub enrolments: usize,
    pub runs: usize,
    pub timers: usize,
}

/// Counts of disagreements, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatches {
    /// A contact's email has no index entry, or its entry names another contact.
    pub email_unindexed: usize,
    /// An email index entry whose contact is missing or has another email.
    pub email_dangling: usize,
    /// A contact's phone whose index entry does not list the contact.
    pub phone_unindexed: usize,
    /// A contact id in the phone index whose contact is missing or has another phone.
    pub phone_dangling: usize,
    /// An enrolment whose copy on the contact (`contact.sequences`) differs or is missing.
    pub enrolment_copy: usize,
    /// An active enrolment without the timer of its next step (it would never go on).
    pub enrolment_without_timer: usize,
    /// A waiting run without its timer.
    pub waiting_run_without_timer: usize,
    /// A timer whose owner index entry is missing, or an owner entry with no timer.
    pub timer_index: usize,
    /// A timer whose run is not waiting, or whose enrolment is not active.
    pub timer_orphaned: usize,
    /// An unfinished run missing from the active-run index, or an entry for a finished or
    /// missing run (a restart would not resume it, or would resume what is done).
    pub active_run_index: usize,
}

impl Mismatches {
    /// The sum of all counts.
    pub fn total(&self) -> usize {
        self.email_unindexed
            + self.email_dangling
            + self.phone_unindexed
            + self.phone_dangling
            + self.enrolment_copy
            + self.enrolment_without_timer
            + self.waiting_run_without_timer
            + self.timer_index
            + self.timer_orphaned
            + self.active_run_index
    }
}

impl AuditReport {
    /// Counts a disagreement (`bump`) unless `holds`, and describes it among the first few.
    fn expect(&mut self, holds: bool, bump: fn(&mut Mismatches), what: impl FnOnce() -> String) {
        if holds {
            return;
        }
        bump(&mut self.mismatches);
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(what());
        }
    }
}

/// Decodes every record of `tree` (named `name` in errors) and hands it to `check` with its
/// key, one at a time; returns how many were read.
fn each<T: DeserializeOwned>(
    tree: &sled::Tree,
    name: &'static str,
    mut check: impl FnMut(&[u8], T) -> StoreResult<()>,
) -> StoreResult<usize> {
    let mut count = 0;
    for kv in tree.iter() {
        let (key, bytes) = kv?;
        let record = decode(name, &bytes)?;
        count += 1;
        check(&key, record)?;
    }
    Ok(count)
}

impl Store {
    /// Walks the contact, enrolment, run and timer trees and their indexes and counts every
    /// record that disagrees with another. Reads only.
    pub fn audit(&self) -> StoreResult<AuditReport> {
        let mut report = AuditReport::default();
        self.audit_contacts(&mut report)?;
        self.audit_enrolments(&mut report)?;
        self.audit_runs(&mut report)?;
        self.audit_timers(&mut report)?;
        Ok(report)
    }

    fn audit_contacts(&self, r: &mut AuditReport) -> StoreResult<()> {
        let trees = &self.contacts;
        r.checked.contacts = each(&trees.contacts, "contacts", |id, c: Contact| {
            let id = String::from_utf8_lossy(id).into_owned();
            if let Some(email) = &c.email {
                let owner = trees.by_email.get(email.as_str())?;
                r.expect(
                    owner.as_deref() == Some(id.as_bytes()),
                    |m| m.email_unindexed += 1,
                    || format!("contact {id}: its email is not indexed to it"),
                );
            }
            if let Some(phone) = &c.phone {
                let ids: Vec<String> = match trees.by_phone.get(phone.as_str())? {
                    Some(v) => decode("contacts_by_phone", &v)?,
                    None => Vec::new(),
                };
                r.expect(
                    ids.contains(&id),
                    |m| m.phone_unindexed += 1,
                    || format!("contact {id}: its phone is not indexed to it"),
                );
            }
            Ok(())
        })?;
        for kv in trees.by_email.iter() {
            let (email, owner) = kv?;
            r.checked.email_index += 1;
            let owner = String::from_utf8_lossy(&owner).into_owned();
            let holds = self.contacts.get(&owner).ok().flatten().is_some_and(|c| {
                c.email
                    .is_some_and(|e| e.as_str().as_bytes() == email.as_ref())
            });
            r.expect(
                holds,
                |m| m.email_dangling += 1,
                || format!("email index entry → {owner}: no such contact with that email"),
            );
        }
        r.checked.phone_index = each(
            &trees.by_phone,
            "contacts_by_phone",
            |phone, ids: Vec<String>| {
                for id in ids {
                    let holds =
                        self.contacts.get(&id).ok().flatten().is_some_and(|c| {
                            c.phone.is_some_and(|p| p.as_str().as_bytes() == phone)
                        });
                    r.expect(
                        holds,
                        |m| m.phone_dangling += 1,
                        || format!("phone index entry → {id}: no such contact with that phone"),
                    );
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    fn audit_enrolments(&self, r: &mut AuditReport) -> StoreResult<()> {
        r.checked.enrolments = each(
            &self.trees.enrolments,
            "enrolments",
            |_, e: EnrolmentRecord| {
                let who = format!("enrolment of {} in {}", e.contact_id, e.sequence);
                let copy = self
                    .contacts
                    .get(&e.contact_id)
                    .ok()
                    .flatten()
                    .and_then(|c| c.sequences.into_iter().find(|s| s.sequence == e.sequence));
                r.expect(
                    copy.as_ref() == Some(&e.public()),
                    |m| m.enrolment_copy += 1,
                    || format!("{who}: the contact's copy is {copy:?}"),
                );
                if e.state == EnrolmentState::Active {
                    let kind = TimerKind::SequenceStep {
                        contact_id: e.contact_id.clone(),
                        sequence: e.sequence.clone(),
                    };
                    let timer = self.timer_of(&kind)?;
                    r.expect(
                        timer.is_some_and(|t| Some(t.due_at) == e.next_due_at),
                        |m| m.enrolment_without_timer += 1,
                        || format!("{who}: active, but no timer due at its next step"),
                    );
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    fn audit_runs(&self, r: &mut AuditReport) -> StoreResult<()> {
        r.checked.runs = each(&self.trees.runs, "runs", |_, run: RunRecord| {
            let indexed = self.trees.runs_active.contains_key(run.id.as_bytes())?;
            r.expect(
                indexed != run.is_finished(),
                |m| m.active_run_index += 1,
                || format!("run {}: {:?} but indexed={indexed}", run.id, run.status),
            );
            if run.status == RunStatus::Waiting {
                let kind = TimerKind::RunWait {
                    run_id: run.id.clone(),
                };
                r.expect(
                    self.timer_of(&kind)?.is_some(),
                    |m| m.waiting_run_without_timer += 1,
                    || format!("run {}: waiting, but has no timer", run.id),
                );
            }
            Ok(())
        })?;
        for id in self.trees.runs_active.iter().keys() {
            let id = id?;
            r.expect(
                self.trees.runs.contains_key(&id)?,
                |m| m.active_run_index += 1,
                || {
                    let id = String::from_utf8_lossy(&id);
                    format!("active-run index names {id}, which has no record")
                },
            );
        }
        Ok(())
    }

    fn audit_timers(&self, r: &mut AuditReport) -> StoreResult<()> {
        r.checked.timers = each(&self.trees.timers, "timers", |key, timer: Timer| {
            r.expect(
                self.timer_of(&timer.kind)?.as_ref() == Some(&timer) && timer.key() == *key,
                |m| m.timer_index += 1,
                || format!("timer {}: its owner index does not name it", timer.id),
            );
            let owner_waits = match &timer.kind {
                TimerKind::RunWait { run_id } => self
                    .run(run_id)?
                    .is_some_and(|run| run.status == RunStatus::Waiting),
                TimerKind::SequenceStep {
                    contact_id,
                    sequence,
                } => self
                    .enrolment(contact_id, sequence)?
                    .is_some_and(|e| e.state == EnrolmentState::Active),
            };
            r.expect(
                owner_waits,
                |m| m.timer_orphaned += 1,
                || {
                    format!(
                        "timer {}: its {} is not waiting",
                        timer.id,
                        timer.kind.name()
                    )
                },
            );
            Ok(())
        })?;
        for kv in self.trees.timers_by_owner.iter() {
            let (_, key) = kv?;
            r.expect(
                self.trees.timers.contains_key(&key)?,
                |m| m.timer_index += 1,
                || "a timer owner entry names a timer that is gone".to_string(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
