//! The request log: every request that reached a known hook, accepted or rejected, with its
//! items and the runs they queued. Acceptance writes the record, the queue entries, the
//! reference (when the workflow has none) and dedupe marks in one transaction.
//!
//! The rejected part of the log is bounded, because anyone who knows a URL can fill it: per
//! workflow only the newest [`MAX_REJECTED`] rejected requests are kept, each body cut at
//! [`MAX_REJECTED_BODY`] bytes (`body_truncated`). An index tree (`workflow\0id` → ()) with a
//! per-workflow count (`workflow\x01` → u64) finds the oldest without scanning the log.

use super::codec::{decode, encode, page_newest_first, Page};
use super::posting::Intersection;
use super::queue::QueueEntry;
use super::references::ReferenceRecord;
use super::request_index::{self, RequestKeys};
use super::{Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Most rejected requests kept per workflow; older ones are deleted as new ones arrive.
pub const MAX_REJECTED: u64 = 1_000;

/// Most body bytes kept of a rejected request.
pub const MAX_REJECTED_BODY: usize = 64 * 1024;

/// The index of rejected requests per workflow, oldest first.
pub(crate) struct RejectedLog {
    tree: sled::Tree,
    /// Serialises count-and-trim: rejections are best effort, and a bound needs one writer.
    lock: Mutex<()>,
}

impl RejectedLog {
    /// Opens the index tree.
    pub(crate) fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            tree: db.open_tree("rejected")?,
            lock: Mutex::new(()),
        })
    }

    /// Drops deleted rejected requests (`(workflow, id)`) from the index and their workflows'
    /// counts (retention); ids it does not hold are ignored.
    pub(crate) fn forget(&self, gone: &[(String, String)]) -> sled::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        for (workflow, id) in gone {
            if self.tree.remove(format!("{workflow}\0{id}"))?.is_none() {
                continue;
            }
            let key = count_key(workflow);
            let count = self
                .tree
                .get(&key)?
                .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
                .unwrap_or(1);
            self.tree
                .insert(key, &count.saturating_sub(1).to_be_bytes())?;
        }
        Ok(())
    }

    /// Empties the index (with the request log, on reset).
    pub(crate) fn clear(&self) -> sled::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.tree.clear()
    }
}

fn count_key(workflow: &str) -> Vec<u8> {
    format!("{workflow}\x01").into_bytes()
}

/// What became of a request or of one of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Accepted,
    Filtered,
    Duplicate,
    Captured,
    Rejected,
}

impl ItemStatus {
    /// The lowercase name used in JSON and query filters.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Accepted => "accepted",
            ItemStatus::Filtered => "filtered",
            ItemStatus::Duplicate => "duplicate",
            ItemStatus::Captured => "captured",
            ItemStatus::Rejected => "rejected",
        }
    }
}

/// One item of a request after split, filter and dedupe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemRecord {
    pub index: usize,
    pub status: ItemStatus,
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_key: Option<String>,
    /// Why a filter could not be evaluated (counts as no match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A logged request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: String,
    pub workflow: String,
    pub received_at: String,
    pub method: String,
    pub remote_addr: Option<String>,
    /// Headers with secrets masked.
    pub headers: Vec<(String, String)>,
    /// Query string with secrets masked.
    pub query: String,
    pub content_type: Option<String>,
    /// The raw body as text (lossy UTF-8), up to the size limit.
    pub body: String,
    pub body_size: u64,
    pub body_truncated: bool,
    pub status: ItemStatus,
    /// The HTTP status hookflow answered.
    pub http_status: u16,
    /// Why the request was rejected.
    pub reason: Option<String>,
    /// The parsed payload (null when it did not parse).
    pub payload: serde_json::Value,
    pub items: Vec<ItemRecord>,
    /// The request this one replays, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
}

/// What the acceptance transaction decides per item: its dedupe key and queue entry.
pub struct PendingItem {
    pub record: ItemRecord,
    pub queue: Option<QueueEntry>,
    /// Dedupe key and the time (ms) until which it blocks repeats.
    pub dedupe: Option<(String, i64)>,
}

/// Called once a request is written, before the flush.
pub type OnWritten = Box<dyn FnOnce(&RequestRecord) + Send>;

/// An accepted request on its way to the committer (see [`super::commit`]).
pub(crate) struct AcceptJob {
    pub record: RequestRecord,
    pub items: Vec<PendingItem>,
    pub now_ms: i64,
    /// Called by the committer once the request is written, before the flush: the worker may
    /// start its runs from then on, and their events must follow the request's.
    pub on_written: Option<OnWritten>,
    pub reply: tokio::sync::oneshot::Sender<StoreResult<RequestRecord>>,
}

/// A job's records encoded as they are stored when none of its items is a duplicate.
struct Encoded {
    record: Vec<u8>,
    /// Each item's queue key and entry, if it queues a run.
    queue: Vec<Option<([u8; 8], Vec<u8>)>>,
}

impl Encoded {
    fn new(job: &AcceptJob) -> Self {
        let items: Vec<ItemRecord> = job.items.iter().map(|i| i.record.clone()).collect();
        let mut record = job.record.clone();
        record.status = overall_status(&items, job.record.status);
        record.items = items;
        Self {
            record: encode(&record),
            queue: job
                .items
                .iter()
                .map(|i| i.queue.as_ref().map(|e| (e.seq.to_be_bytes(), encode(e))))
                .collect(),
        }
    }
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
    /// Writes a round of accepted requests in one transaction: each with its queue entries,
    /// its dedupe marks (items seen within their window, in the store or earlier in the round,
    /// become `duplicate`), the workflow's reference when it has none, and the counters.
    /// Returns the final records in the order of `jobs`.
    pub(crate) fn write(&self, jobs: &mut [AcceptJob]) -> StoreResult<Vec<RequestRecord>> {
        let trees = (
            &self.requests,
            &self.index,
            &self.queue,
            &self.references,
            &self.dedupe,
            &self.counts,
        );
        // Encoded before the transaction: sled holds a process-wide lock while one runs, so
        // only the reads and writes that must be atomic happen inside. A record whose items
        // turn out to be duplicates is encoded again there.
        let encoded: Vec<Encoded> = jobs.iter().map(Encoded::new).collect();
        let records =
            trees.transaction(|(requests, index, queue, references, dedupe, counts)| {
                let mut out = Vec::with_capacity(jobs.len());
                let mut tally: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
                for (job, enc) in jobs.iter().zip(&encoded) {
                    let record = &job.record;
                    let mut items = Vec::with_capacity(job.items.len());
                    let mut changed = false;
                    for (item, queued) in job.items.iter().zip(&enc.queue) {
                        let mut rec = item.record.clone();
                        let mut enqueue = queued.as_ref();
                        if let Some((key, until)) = &item.dedupe {
                            let dkey = format!("{}\0{}", record.workflow, key);
                            let seen = dedupe
                                .get(dkey.as_bytes())?
                                .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes));
                            if seen.is_some_and(|until_ms| until_ms > job.now_ms) {
                                rec.status = ItemStatus::Duplicate;
                                rec.run_id = None;
                                enqueue = None;
                                changed = true;
                            } else {
                                dedupe.insert(dkey.as_bytes(), &until.to_be_bytes())?;
                            }
                        }
                        if let Some((seq, bytes)) = enqueue {
                            queue.insert(seq, bytes.as_slice())?;
                        }
                        items.push(rec);
                    }
                    let mut stored = record.clone();
                    stored.status = overall_status(&items, record.status);
                    stored.items = items;
                    if references.get(record.workflow.as_bytes())?.is_none() {
                        let r = ReferenceRecord {
                            request_id: record.id.clone(),
                            captured_at: record.received_at.clone(),
                            payload: record.payload.clone(),
                        };
                        references.insert(record.workflow.as_bytes(), encode(&r))?;
                    }
                    if changed {
                        requests.insert(record.id.as_bytes(), encode(&stored))?;
                    } else {
                        requests.insert(record.id.as_bytes(), enc.record.as_slice())?;
                    }
                    let keys =
                        RequestKeys::of(&stored.id, &stored.workflow, stored.status.as_str());
                    request_index::add(index, &keys)?;
                    *tally
                        .entry(super::counts::key(&stored.workflow, stored.status.as_str()))
                        .or_default() += 1;
                    out.push(stored);
                }
                // Only the committer counts these statuses, so a read-modify-write cannot race
                // (rejections are counted with sled's merge, under another status).
                for (key, n) in tally {
                    let old = super::counts::read(counts.get(&key)?.as_deref());
                    counts.insert(key, &(old + n).to_be_bytes())?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(out)
            })?;
        for (job, record) in jobs.iter_mut().zip(&records) {
            if let Some(on_written) = job.on_written.take() {
                on_written(record);
            }
        }
        Ok(records)
    }
}

impl Store {
    /// Stores an accepted request with its queue entries and returns the final record once it
    /// is durable (items already seen within their dedupe window become `duplicate`). The
    /// workflow's first accepted request becomes its reference in the same write. `on_written`
    /// runs once the request is written, before the flush.
    pub async fn accept(
        &self,
        record: RequestRecord,
        items: Vec<PendingItem>,
        now_ms: i64,
        on_written: Option<OnWritten>,
    ) -> StoreResult<RequestRecord> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.commit.accept(AcceptJob {
            record,
            items,
            now_ms,
            on_written,
            reply,
        });
        answer
            .await
            .map_err(|_| StoreError::Io(std::io::Error::other("the committer stopped")))?
    }

    /// Logs a rejected request without waiting for a flush (bad requests must not slow good
    /// ones), its body cut at [`MAX_REJECTED_BODY`], and drops the workflow's oldest rejected
    /// requests past [`MAX_REJECTED`]. Below the disk reserve nothing is logged (see
    /// [`super::space`]).
    pub fn log_rejected(&self, mut record: RequestRecord) -> StoreResult<()> {
        super::space::check(&self.dir)?;
        if record.body.len() > MAX_REJECTED_BODY {
            let mut cut = MAX_REJECTED_BODY;
            while !record.body.is_char_boundary(cut) {
                cut -= 1;
            }
            record.body.truncate(cut);
            record.body_truncated = true;
        }
        let log = &self.rejected;
        let _guard = log.lock.lock().unwrap_or_else(|e| e.into_inner());
        let prefix = format!("{}\0", record.workflow);
        self.trees
            .requests
            .insert(record.id.as_bytes(), encode(&record))?;
        let keys = RequestKeys::of(&record.id, &record.workflow, record.status.as_str());
        request_index::add_plain(&self.trees.requests_index, &keys)?;
        log.tree
            .insert(format!("{prefix}{}", record.id).as_bytes(), &[])?;
        let count_key = count_key(&record.workflow);
        let mut count = log
            .tree
            .get(&count_key)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0)
            + 1;
        while count > MAX_REJECTED {
            let Some(oldest) = log.tree.scan_prefix(prefix.as_bytes()).keys().next() else {
                break;
            };
            let oldest = oldest?;
            if let Some(gone) = self.trees.requests.remove(&oldest[prefix.len()..])? {
                let keys = request_index::decode_keys(&gone)?;
                request_index::remove(&self.trees.requests_index, &keys)?;
            }
            log.tree.remove(&oldest)?;
            count -= 1;
        }
        log.tree.insert(count_key, &count.to_be_bytes())?;
        drop(_guard);
        self.bump_count(&record.workflow, "rejected")?;
        Ok(())
    }

    /// One logged request.
    pub fn request(&self, id: &str) -> StoreResult<Option<RequestRecord>> {
        match self.trees.requests.get(id.as_bytes())? {
            Some(v) => Ok(Some(decode("requests", &v)?)),
            None => Ok(None),
        }
    }

    /// Requests newest first, optionally only one workflow's and/or one status: with a filter,
    /// only the requests its index lists name are read.
    pub fn requests(
        &self,
        workflow: Option<&str>,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<RequestRecord>> {
        let keep = |r: &RequestRecord| {
            workflow.is_none_or(|w| r.workflow == w)
                && status.is_none_or(|s| r.status.as_str() == s)
        };
        let lists = request_index::lists(workflow, status);
        if lists.is_empty() {
            return page_newest_first(&self.trees.requests, "requests", cursor, limit, keep);
        }
        let below = cursor.map(|c| c.as_bytes().to_vec());
        let mut items = Vec::new();
        let mut ids = Intersection::new(&self.trees.requests_index, lists, below);
        for id in ids.by_ref() {
            let Some(request) = self.request(&String::from_utf8_lossy(&id?))? else {
                continue;
            };
            if !keep(&request) {
                continue;
            }
            if items.len() == limit {
                let next_cursor = items.last().map(|r: &RequestRecord| r.id.clone());
                return Ok(Page { items, next_cursor });
            }
            items.push(request);
        }
        Ok(Page {
            items,
            next_cursor: None,
        })
    }
}

/// `accepted` when any item was accepted, else the items' common status.
fn overall_status(items: &[ItemRecord], fallback: ItemStatus) -> ItemStatus {
    if items.iter().any(|i| i.status == ItemStatus::Accepted) {
        return ItemStatus::Accepted;
    }
    match items.first() {
        Some(first) if items.iter().all(|i| i.status == first.status) => first.status,
        Some(_) => ItemStatus::Filtered,
        None => fallback,
    }
}
