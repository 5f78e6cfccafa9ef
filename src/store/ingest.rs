//! Acceptance: an accepted request goes from its handler to the committer (see
//! [`super::commit`]) already encoded.
//!
//! The committer is one thread and every accepted request passes through it, so it only
//! writes bytes: the handler's task, on a tokio worker running beside it, builds the stored
//! record from what it owns (no copy) and encodes it and its queue entries. Only a request
//! with an item that turns out to be a duplicate is encoded again, in the transaction that
//! finds out.

use super::codec::encode;
use super::references::ReferenceRecord;
use super::request_index::{self, RequestKeys};
use super::requests::{overall_status, page, stored, ItemStatus, PendingItem, RequestRecord};
use super::{Store, StoreError, StoreResult};
use sled::transaction::{ConflictableTransactionError, Transactional};
use sled::IVec;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Called once a request is written, before the flush.
pub type OnWritten = Box<dyn FnOnce(&RequestRecord) + Send>;

/// What the committer writes for one item besides the record.
struct ItemWrite {
    /// The queue key and the encoded entry, if the item queues a run.
    queue: Option<([u8; 8], Vec<u8>)>,
    /// The dedupe tree's key (`workflow\0key`) and the time (ms) until which it blocks repeats.
    dedupe: Option<(String, i64)>,
}

/// An accepted request on its way to the committer.
pub(crate) struct AcceptJob {
    /// The record as stored when none of its items is a duplicate (items and status set); the
    /// final record once written.
    pub record: RequestRecord,
    /// `record`, encoded.
    encoded: Vec<u8>,
    /// Per item of `record.items`, in order.
    items: Vec<ItemWrite>,
    now_ms: i64,
    /// Called by the committer once the request is written, before the flush: the worker may
    /// start its runs from then on, and their events must follow the request's.
    on_written: Option<OnWritten>,
    reply: tokio::sync::oneshot::Sender<StoreResult<RequestRecord>>,
}

impl AcceptJob {
    /// Moves the items into the record and encodes what the committer writes (on the
    /// caller's thread).
    fn new(
        mut record: RequestRecord,
        pending: Vec<PendingItem>,
        now_ms: i64,
        on_written: Option<OnWritten>,
        reply: tokio::sync::oneshot::Sender<StoreResult<RequestRecord>>,
    ) -> Self {
        let mut items = Vec::with_capacity(pending.len());
        record.items = Vec::with_capacity(pending.len());
        for item in pending {
            items.push(ItemWrite {
                queue: item.queue.map(|e| (e.seq.to_be_bytes(), encode(&e))),
                dedupe: item
                    .dedupe
                    .map(|(key, until)| (format!("{}\0{key}", record.workflow), until)),
            });
            record.items.push(item.record);
        }
        record.status = overall_status(&record.items, record.status);
        let encoded = stored::encode_json(&record);
        Self {
            record,
            encoded,
            items,
            now_ms,
            on_written,
            reply,
        }
    }

    /// Hands the handler its final record, or the error that kept it from being stored.
    pub(crate) fn answer(self, result: StoreResult<()>) {
        let _ = self.reply.send(result.map(|()| self.record));
    }
}

/// Marks the items at `duplicates` as duplicates (no run) and settles the request's status.
fn mark_duplicates(record: &mut RequestRecord, duplicates: &[usize]) {
    for &i in duplicates {
        let item = &mut record.items[i];
        item.status = ItemStatus::Duplicate;
        item.run_id = None;
    }
    record.status = overall_status(&record.items, record.status);
}

/// The trees an acceptance writes together.
pub(crate) struct IngestTrees {
    pub requests: sled::Tree,
    /// `requests_index`: the log by workflow and status.
    pub index: sled::Tree,
    pub queue: sled::Tree,
    pub references: sled::Tree,
    pub dedupe: sled::Tree,
    pub counts: sled::Tree,
}

impl IngestTrees {
    /// Writes a round of accepted requests in one transaction: the requests as pages of the
    /// log (see [`super::requests::page`]) with their index entries, each with its queue
    /// entries, its dedupe marks (items seen within their window, in the store or earlier in
    /// the round, become `duplicate`), the workflow's reference when it has none, and the
    /// counters. Each job's `record` is then its final record, and its `on_written` has been
    /// called, in id order.
    pub(crate) fn write(&self, jobs: &mut [AcceptJob]) -> StoreResult<()> {
        jobs.sort_unstable_by(|a, b| a.record.id.cmp(&b.record.id));
        let trees = (
            &self.requests,
            &self.index,
            &self.queue,
            &self.references,
            &self.dedupe,
            &self.counts,
        );
        // Only reads and writes that must be atomic happen in here: sled holds a process-wide
        // lock while a transaction runs (and may run the closure again on a conflict, so the
        // jobs are changed only after it).
        let duplicates =
            trees.transaction(|(requests, index, queue, references, dedupe, counts)| {
                let mut out = Vec::with_capacity(jobs.len());
                let mut tally: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
                let mut stored = Vec::with_capacity(jobs.len());
                for job in jobs.iter() {
                    let record = &job.record;
                    let mut duplicates = Vec::new();
                    for (i, item) in job.items.iter().enumerate() {
                        let mut enqueue = item.queue.as_ref();
                        if let Some((key, until)) = &item.dedupe {
                            let seen = dedupe
                                .get(key.as_bytes())?
                                .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes));
                            if seen.is_some_and(|until_ms| until_ms > job.now_ms) {
                                duplicates.push(i);
                                enqueue = None;
                            } else {
                                dedupe.set(key.as_bytes(), Some(IVec::from(&until.to_be_bytes())));
                            }
                        }
                        if let Some((seq, bytes)) = enqueue {
                            queue.set(seq, Some(IVec::from(bytes.as_slice())));
                        }
                    }
                    if references.get(record.workflow.as_bytes())?.is_none() {
                        let r = ReferenceRecord {
                            request_id: record.id.clone(),
                            captured_at: record.received_at.clone(),
                            payload: record.payload.clone(),
                        };
                        references.set(record.workflow.as_bytes(), Some(IVec::from(encode(&r))));
                    }
                    let (bytes, status) = if duplicates.is_empty() {
                        (Cow::Borrowed(job.encoded.as_slice()), record.status)
                    } else {
                        let mut marked = record.clone();
                        mark_duplicates(&mut marked, &duplicates);
                        (Cow::Owned(stored::encode_json(&marked)), marked.status)
                    };
                    *tally
                        .entry(super::counts::key(&record.workflow, status.as_str()))
                        .or_default() += 1;
                    stored.push((record, bytes, status));
                    out.push(duplicates);
                }
                for page in pages(&stored) {
                    let first = page[0].0.id.as_str();
                    let requests_of = page.iter().map(|(r, b, _)| (r.id.as_str(), b.as_ref()));
                    requests.set(
                        first.as_bytes(),
                        Some(IVec::from(page::encode(requests_of))),
                    );
                    let keys = page
                        .iter()
                        .map(|(r, _, status)| RequestKeys::of(&r.id, &r.workflow, status.as_str()));
                    for (key, ids) in request_index::page_entries(first, keys) {
                        index.set(key, Some(IVec::from(ids)));
                    }
                }
                // Only the committer counts these statuses, so a read-modify-write cannot race
                // (rejections are counted with sled's merge, under another status).
                for (key, n) in tally {
                    let old = super::counts::read(counts.get(&key)?.as_deref());
                    counts.set(key, Some(IVec::from(&(old + n).to_be_bytes())));
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(out)
            })?;
        for (job, duplicates) in jobs.iter_mut().zip(duplicates) {
            if !duplicates.is_empty() {
                mark_duplicates(&mut job.record, &duplicates);
            }
            if let Some(on_written) = job.on_written.take() {
                on_written(&job.record);
            }
        }
        Ok(())
    }
}

/// A round's stored requests (record, stored bytes, final status), ids ascending.
type Stored<'a> = (&'a RequestRecord, Cow<'a, [u8]>, ItemStatus);

/// Cuts a round into pages of at most [`page::MAX_REQUESTS`] requests and about
/// [`page::MAX_BYTES`] (a request bigger than that has a page of its own).
fn pages<'s, 'a>(stored: &'s [Stored<'a>]) -> Vec<&'s [Stored<'a>]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (_, record, _)) in stored.iter().enumerate() {
        let full = i - start == page::MAX_REQUESTS || bytes + record.len() > page::MAX_BYTES;
        if i > start && full {
            out.push(&stored[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += record.len();
    }
    if start < stored.len() {
        out.push(&stored[start..]);
    }
    out
}

impl Store {
    /// Stores an accepted request with its queue entries and returns the final record once it
    /// is durable (items already seen within their dedupe window become `duplicate`). The
    /// workflow's first accepted request becomes its reference in the same write. `on_written`
    /// runs once the request is written, before the flush. The request gets its id here (the
    /// record's own is replaced, and so is the one its queue entries name).
    pub async fn accept(
        &self,
        mut record: RequestRecord,
        mut items: Vec<PendingItem>,
        now_ms: i64,
        on_written: Option<OnWritten>,
    ) -> StoreResult<RequestRecord> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        {
            // The request's id is made here, under the admission gate, so that it lands in the
            // round being gathered (pages of the log never overlap); its queue entries name it.
            let _admitted = self.commit.admit();
            record.id = crate::domain::ids::new_ulid();
            for item in &mut items {
                if let Some(entry) = &mut item.queue {
                    entry.request_id = record.id.clone();
                }
            }
            self.commit
                .accept(AcceptJob::new(record, items, now_ms, on_written, reply));
        }
        answer
            .await
            .map_err(|_| StoreError::Io(std::io::Error::other("the committer stopped")))?
    }
}

#[cfg(test)]
mod tests;
