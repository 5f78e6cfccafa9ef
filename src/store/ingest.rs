//! Acceptance: an accepted request goes from its handler to the committer (see
//! [`super::commit`]) already encoded as the journal entry the applier will write.
//!
//! The committer is one thread and every accepted request passes through it, so it only
//! decides dedupe and writes bytes: the handler's task, on a tokio worker running beside it,
//! builds the stored record from what it owns (no copy) and encodes it, its queue entries and
//! its journal frame. Only a request with an item that turns out to be a duplicate is encoded
//! again, by the committer that finds out.

use super::applier::State;
use super::codec::encode;
use super::journal::{self, entry::Entry};
use super::requests::{overall_status, stored, ItemStatus, PendingItem, RequestRecord};
use super::{Store, StoreError, StoreResult};

/// Called once a request is durable, before its runs can start and before its answer.
pub type OnWritten = Box<dyn FnOnce(&RequestRecord) + Send>;

/// Which item of the record each queue entry and dedupe mark of the entry belongs to.
#[derive(Default)]
struct ItemsOf {
    queue: Vec<usize>,
    dedupe: Vec<usize>,
}

/// An accepted request on its way to the committer.
pub(crate) struct AcceptJob {
    /// The record as stored when none of its items is a duplicate (items and status set); the
    /// final record once decided.
    pub record: RequestRecord,
    /// What the applier writes for it.
    pub(crate) entry: Entry,
    /// `entry` as a journal frame.
    pub(crate) frame: Vec<u8>,
    items_of: ItemsOf,
    now_ms: i64,
    /// Called by the committer once the request is durable: the worker may start its runs
    /// from then on, and their events must follow the request's.
    pub(crate) on_written: Option<OnWritten>,
    reply: tokio::sync::oneshot::Sender<StoreResult<RequestRecord>>,
}

impl AcceptJob {
    /// Moves the items into the record and encodes what the committer writes (on the
    /// caller's thread).
    pub(crate) fn new(
        mut record: RequestRecord,
        pending: Vec<PendingItem>,
        now_ms: i64,
        on_written: Option<OnWritten>,
        reply: tokio::sync::oneshot::Sender<StoreResult<RequestRecord>>,
    ) -> Self {
        let mut entry = Entry::default();
        let mut items_of = ItemsOf::default();
        record.items = Vec::with_capacity(pending.len());
        for (i, item) in pending.into_iter().enumerate() {
            if let Some(e) = item.queue {
                entry.queue.push((e.seq.to_be_bytes(), encode(&e)));
                items_of.queue.push(i);
            }
            if let Some((key, until)) = item.dedupe {
                entry
                    .dedupe
                    .push((format!("{}\0{key}", record.workflow), until));
                items_of.dedupe.push(i);
            }
            record.items.push(item.record);
        }
        record.status = overall_status(&record.items, record.status);
        let mut job = Self {
            record,
            entry,
            frame: Vec::new(),
            items_of,
            now_ms,
            on_written,
            reply,
        };
        job.encode();
        job
    }

    /// Encodes the record into the entry and the entry into the frame.
    fn encode(&mut self) {
        let r = &self.record;
        self.entry.id.clone_from(&r.id);
        self.entry.workflow.clone_from(&r.workflow);
        r.status.as_str().clone_into(&mut self.entry.status);
        self.entry.record = stored::encode(r);
        self.frame.clear();
        journal::frame(&mut self.frame, &self.entry.encode());
    }

    /// Marks the items at `duplicates` as duplicates (no run, no new dedupe mark), settles the
    /// request's status and encodes it again.
    fn mark_duplicates(&mut self, duplicates: &[usize]) {
        for &i in duplicates {
            let item = &mut self.record.items[i];
            item.status = ItemStatus::Duplicate;
            item.run_id = None;
        }
        self.record.status = overall_status(&self.record.items, self.record.status);
        drop_items(&mut self.entry.queue, &mut self.items_of.queue, duplicates);
        drop_items(
            &mut self.entry.dedupe,
            &mut self.items_of.dedupe,
            duplicates,
        );
        self.encode();
    }

    /// Hands the handler its final record, or the error that kept it from being stored.
    pub(crate) fn answer(self, result: StoreResult<()>) {
        let _ = self.reply.send(result.map(|()| self.record));
    }
}

/// Drops the values that belong to the items at `duplicates` (`items[n]` is value n's item).
fn drop_items<T>(values: &mut Vec<T>, items: &mut Vec<usize>, duplicates: &[usize]) {
    let mut kept = items.iter().map(|i| !duplicates.contains(i));
    values.retain(|_| kept.next().unwrap_or(true));
    items.retain(|i| !duplicates.contains(i));
}

/// A dedupe key as it was before a round marked it: put back if the round is not written.
pub(crate) type Undo = Vec<(String, Option<i64>)>;

/// Decides a round's dedupe: an item whose key was marked within its window (by a request in
/// sled, one journaled and not applied yet, or one earlier in the round) becomes `duplicate`;
/// every other item with a key marks it in `state` (undone with `undo` if the round fails).
pub(crate) fn decide(
    jobs: &mut [AcceptJob],
    state: &mut State,
    dedupe: &sled::Tree,
    undo: &mut Undo,
) -> StoreResult<()> {
    for job in jobs.iter_mut() {
        let mut duplicates = Vec::new();
        for (n, (key, until)) in job.entry.dedupe.iter().enumerate() {
            let seen = match state.dedupe.get(key) {
                Some(until) => Some(*until),
                None => dedupe
                    .get(key.as_bytes())?
                    .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes)),
            };
            if seen.is_some_and(|until_ms| until_ms > job.now_ms) {
                duplicates.push(job.items_of.dedupe[n]);
            } else {
                undo.push((key.clone(), state.dedupe.insert(key.clone(), *until)));
            }
        }
        if !duplicates.is_empty() {
            job.mark_duplicates(&duplicates);
        }
    }
    Ok(())
}

/// Puts back the dedupe marks of a round that was not written.
pub(crate) fn undo(state: &mut State, undo: Undo) {
    for (key, before) in undo.into_iter().rev() {
        match before {
            Some(until) => state.dedupe.insert(key, until),
            None => state.dedupe.remove(&key),
        };
    }
}

impl Store {
    /// Stores an accepted request with its queue entries and returns the final record once it
    /// is durable (items already seen within their dedupe window become `duplicate`). The
    /// workflow's first accepted request becomes its reference when it is applied.
    /// `on_written` runs once the request is durable, before the answer.
    pub async fn accept(
        &self,
        record: RequestRecord,
        items: Vec<PendingItem>,
        now_ms: i64,
        on_written: Option<OnWritten>,
    ) -> StoreResult<RequestRecord> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.commit
            .accept(AcceptJob::new(record, items, now_ms, on_written, reply));
        answer
            .await
            .map_err(|_| StoreError::Io(std::io::Error::other("the committer stopped")))?
    }
}

#[cfg(test)]
mod tests;
