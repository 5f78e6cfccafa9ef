//! Retention (`serve --retain`): deletes requests received before a cutoff, runs that finished
//! before it, final-state emails made before it (with their `.eml` files) and expired dedupe
//! marks. Never touched: references (they keep their own copy of the payload), unfinished runs,
//! emails not yet sent, contacts, timelines, enrolments, timers, unsubscribe tokens (an old
//! email's link must keep working) and the per-workflow counters, which stay totals.
//!
//! Records are keyed by ULIDs, so a walk from the first key goes oldest first and stops at the
//! first record made after the cutoff. Deletions go [`BATCH`] keys to a transaction, so a sweep
//! never holds sled's transaction lock long, and memory holds one batch whatever the store size.

use super::codec::decode;
use super::outbox::OutboxRecord;
use super::request_index;
use super::requests::page;
use super::run_index::{self, RunKeys};
use super::runs::RunStatus;
use super::{Store, StoreError, StoreResult};
use crate::domain::time::Millis;
use serde::Deserialize;
use sled::transaction::{ConflictableTransactionError, Transactional};
use sled::IVec;
use std::ops::Bound;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Most keys deleted in one transaction.
pub const BATCH: usize = 1_000;

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Requests (with their items and index entries).
    pub requests: u64,
    /// Finished runs (with their steps and index entries).
    pub runs: u64,
    /// Sent, failed or skipped emails (with their `.eml` files).
    pub emails: u64,
    /// Dedupe marks whose window had passed.
    pub dedupe_marks: u64,
}

impl Swept {
    /// True when the sweep deleted nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The fields of a stored request the sweep reads.
#[derive(Deserialize)]
struct RequestAge {
    received_at: String,
}

/// The fields of a stored run the sweep reads.
#[derive(Deserialize)]
struct RunAge {
    status: RunStatus,
    created_at: String,
    finished_at: Option<String>,
}

/// RFC 3339 text as milliseconds; `None` when it does not parse (such a record is kept).
fn millis(text: &str) -> Option<Millis> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as Millis)
}

/// Keys of `tree` after `after` (from the start without one), oldest first.
fn walk(tree: &sled::Tree, after: Option<&IVec>) -> sled::Iter {
    match after {
        Some(k) => tree.range::<&[u8], _>((Bound::Excluded(k.as_ref()), Bound::Unbounded)),
        None => tree.iter(),
    }
}

/// What a sweep makes of a record its walk reached.
enum Verdict {
    Delete,
    Keep,
    /// Made after the cutoff: so is everything after it (ids sort by time).
    Stop,
}

/// Walks `tree` oldest first and hands the keys `judge` marks for deletion to `delete` in
/// batches of at most [`BATCH`] (so a sweep never holds sled's transaction lock long), until
/// the walk meets a record made after the cutoff or the end; returns how many `delete` removed.
fn in_batches(
    tree: &sled::Tree,
    mut judge: impl FnMut(&[u8]) -> StoreResult<Verdict>,
    mut delete: impl FnMut(&[IVec]) -> StoreResult<u64>,
) -> StoreResult<u64> {
    let mut deleted = 0;
    let mut after: Option<IVec> = None;
    loop {
        let mut batch = Vec::new();
        let mut reached = false;
        for item in walk(tree, after.as_ref()) {
            let (key, bytes) = item?;
            match judge(&bytes)? {
                Verdict::Stop => {
                    reached = true;
                    break;
                }
                Verdict::Delete => batch.push(key.clone()),
                Verdict::Keep => {}
            }
            after = Some(key);
            if batch.len() == BATCH {
                break;
            }
        }
        if !batch.is_empty() {
            deleted += delete(&batch)?;
        }
        if reached || batch.len() < BATCH {
            return Ok(deleted);
        }
    }
}

fn corrupt(tree: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree,
        message: e.to_string(),
    }
}

impl Store {
    /// Deletes what is older than `cutoff` (see the module doc) and the dedupe marks expired at
    /// `now`; returns how many of each went.
    pub fn sweep(&self, cutoff: Millis, now: Millis) -> StoreResult<Swept> {
        Ok(Swept {
            requests: self.sweep_requests(cutoff)?,
            runs: self.sweep_runs(cutoff)?,
            emails: self.sweep_outbox(cutoff)?,
            dedupe_marks: self.sweep_dedupe(now)?,
        })
    }

    /// Requests received before `cutoff`, with their `requests_index` entries and, for
    /// rejected ones, their place in the rejected log's bound. A page of the log goes when all
    /// of its requests are past the cutoff (a round's requests arrive within milliseconds).
    fn sweep_requests(&self, cutoff: Millis) -> StoreResult<u64> {
        let t = &self.trees;
        let of_one = |bytes: &[u8]| {
            let age: RequestAge = decode("requests", bytes)?;
            Ok(match millis(&age.received_at) {
                Some(at) if at >= cutoff => Verdict::Stop,
                Some(_) => Verdict::Delete,
                None => Verdict::Keep,
            })
        };
        let judge = |bytes: &[u8]| {
            if !page::is_page(bytes) {
                return of_one(bytes);
            }
            let page = page::Page::parse(bytes).map_err(|e| corrupt("requests", e))?;
            let verdicts = page
                .requests()
                .map(|(_, record)| of_one(record))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(if verdicts.iter().all(|v| matches!(v, Verdict::Stop)) {
                Verdict::Stop
            } else if verdicts.iter().all(|v| matches!(v, Verdict::Delete)) {
                Verdict::Delete
            } else {
                Verdict::Keep
            })
        };
        let delete = |tree: &sled::Tree, batch: &[IVec]| {
            let (n, rejected) = (tree, &t.requests_index).transaction(|(requests, index)| {
                let (mut n, mut rejected) = (0u64, Vec::new());
                for key in batch {
                    let Some(bytes) = requests.remove(key)? else {
                        continue;
                    };
                    let abort = ConflictableTransactionError::Abort;
                    if page::is_page(&bytes) {
                        let page =
                            page::Page::parse(&bytes).map_err(|e| abort(corrupt("requests", e)))?;
                        let entries = request_index::page_entries_of(key, &page).map_err(abort)?;
                        for (entry, _) in entries {
                            index.remove(entry)?;
                        }
                        n += page.requests().count() as u64;
                        continue;
                    }
                    let keys = request_index::decode_keys(&bytes).map_err(abort)?;
                    request_index::remove_tx(index, &keys)?;
                    n += 1;
                    if keys.status == "rejected" {
                        rejected.push((keys.workflow.into_owned(), keys.id.into_owned()));
                    }
                }
                Ok((n, rejected))
            })?;
            self.rejected.forget(&rejected)?;
            Ok(n)
        };
        let log = in_batches(&t.requests, judge, |batch| delete(&t.requests, batch))?;
        let rejected = in_batches(&t.requests_rejected, of_one, |batch| {
            delete(&t.requests_rejected, batch)
        })?;
        Ok(log + rejected)
    }

    /// Runs that finished before `cutoff`, with their `runs_index` entries. A run made after
    /// the cutoff cannot have finished before it, so the walk stops at the first one.
    fn sweep_runs(&self, cutoff: Millis) -> StoreResult<u64> {
        let t = &self.trees;
        let judge = |bytes: &[u8]| {
            let age: RunAge = decode("runs", bytes)?;
            if millis(&age.created_at).is_some_and(|at| at >= cutoff) {
                return Ok(Verdict::Stop);
            }
            let finished = matches!(age.status, RunStatus::Succeeded | RunStatus::Failed);
            let finished_at = age.finished_at.as_deref().and_then(millis);
            Ok(if finished && finished_at.is_some_and(|at| at < cutoff) {
                Verdict::Delete
            } else {
                Verdict::Keep
            })
        };
        in_batches(&t.runs, judge, |batch| {
            let trees = (&t.runs, &t.runs_active, &t.runs_index);
            let n = trees.transaction(|(runs, active, index)| {
                let mut n = 0u64;
                for key in batch {
                    // Checked again inside: a run taken up again since the walk stays.
                    let Some(bytes) = runs.get(key)? else {
                        continue;
                    };
                    let keys =
                        RunKeys::decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                    if !matches!(keys.status, RunStatus::Succeeded | RunStatus::Failed) {
                        continue;
                    }
                    runs.remove(key)?;
                    active.remove(key)?;
                    run_index::remove(index, &keys)?;
                    n += 1;
                }
                Ok(n)
            })?;
            Ok(n)
        })
    }

    /// Emails made before `cutoff` that are sent, failed or skipped and whose run is over,
    /// with their `.eml` files under `DATA/outbox/`.
    fn sweep_outbox(&self, cutoff: Millis) -> StoreResult<u64> {
        let (outbox, pending) = (self.outbox.outbox(), self.outbox.pending());
        let bodies = self.outbox.bodies();
        let judge = |bytes: &[u8]| {
            let email: OutboxRecord = decode("outbox", bytes)?;
            if email.created_at >= cutoff {
                return Ok(Verdict::Stop);
            }
            // A run still going may look its email up again (a step repeated after a crash).
            let run_active = match &email.run_id {
                Some(run) => self.trees.runs_active.contains_key(run.as_bytes())?,
                None => false,
            };
            Ok(if email.state.is_final() && !run_active {
                Verdict::Delete
            } else {
                Verdict::Keep
            })
        };
        in_batches(outbox, judge, |batch| {
            let gone = (outbox, bodies, pending).transaction(|(outbox, bodies, pending)| {
                let mut gone = Vec::new();
                for key in batch {
                    let Some(bytes) = outbox.get(key)? else {
                        continue;
                    };
                    let email: OutboxRecord =
                        decode("outbox", &bytes).map_err(ConflictableTransactionError::Abort)?;
                    if !email.state.is_final() {
                        continue;
                    }
                    outbox.remove(key)?;
                    bodies.remove(key)?;
                    pending.remove(key)?;
                    gone.push(email.id);
                }
                Ok(gone)
            })?;
            for id in &gone {
                self.remove_eml(id);
            }
            Ok(gone.len() as u64)
        })
    }

    /// Deletes `DATA/outbox/{id}.eml` (ids are ULIDs, so the name stays in that folder).
    fn remove_eml(&self, id: &str) {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return;
        }
        let path = self.dir.join("outbox").join(format!("{id}.eml"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(email = %id, error = %e, "could not delete an old .eml file"),
        }
    }

    /// Dedupe marks whose window ended by `now`. Each goes with a compare-and-swap, so a mark
    /// an acceptance renews meanwhile stays.
    fn sweep_dedupe(&self, now: Millis) -> StoreResult<u64> {
        let dedupe = &self.trees.dedupe;
        let mut deleted = 0;
        let mut after: Option<IVec> = None;
        loop {
            let mut batch = Vec::new();
            let mut walked = 0;
            for item in walk(dedupe, after.as_ref()) {
                let (key, value) = item?;
                let until = <[u8; 8]>::try_from(value.as_ref())
                    .map(i64::from_be_bytes)
                    .map_err(|_| corrupt("dedupe", "a mark is not 8 bytes"))?;
                if until <= now {
                    batch.push((key.clone(), value));
                }
                after = Some(key);
                walked += 1;
                if walked == BATCH {
                    break;
                }
            }
            for (key, value) in &batch {
                if dedupe
                    .compare_and_swap(key, Some(value), None as Option<&[u8]>)?
                    .is_ok()
                {
                    deleted += 1;
                }
            }
            if walked < BATCH {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests;
