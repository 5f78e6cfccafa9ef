//! The request log: every request that reached a known hook, accepted or rejected, with its
//! items and the runs they queued. Acceptance writes the record, the queue entries, the
//! reference (when the workflow has none) and dedupe marks in one transaction.
//!
//! The rejected part of the log is bounded, because anyone who knows a URL can fill it: per
//! workflow only the newest [`MAX_REJECTED`] rejected requests are kept, each body cut at
//! [`MAX_REJECTED_BODY`] bytes (`body_truncated`). An index tree (`workflow\0id` → ()) with a
//! per-workflow count (`workflow\x01` → u64) finds the oldest without scanning the log.

use super::codec::{decode, encode, page_newest_first, Page};
use super::queue::QueueEntry;
use super::references::ReferenceRecord;
use super::{Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};
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

impl Store {
    /// Writes an accepted request with its queue entries in one transaction and returns the
    /// final record (items already seen within their dedupe window become `duplicate`). The
    /// workflow's first accepted request becomes its reference in the same transaction.
    /// The caller must `durable().await` before answering.
    pub fn accept(
        &self,
        mut record: RequestRecord,
        items: Vec<PendingItem>,
        now_ms: i64,
    ) -> StoreResult<RequestRecord> {
        let t = &self.trees;
        let result = (&t.requests, &t.queue, &t.references, &t.dedupe).transaction(
            |(requests, queue, references, dedupe)| {
                let mut out = Vec::with_capacity(items.len());
                for item in &items {
                    let mut rec = item.record.clone();
                    let mut enqueue = item.queue.as_ref();
                    if let Some((key, until)) = &item.dedupe {
                        let dkey = format!("{}\0{}", record.workflow, key);
                        let seen = dedupe
                            .get(dkey.as_bytes())?
                            .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes));
                        if seen.is_some_and(|until_ms| until_ms > now_ms) {
                            rec.status = ItemStatus::Duplicate;
                            rec.run_id = None;
                            enqueue = None;
                        } else {
                            dedupe.insert(dkey.as_bytes(), &until.to_be_bytes())?;
                        }
                    }
                    if let Some(entry) = enqueue {
                        queue.insert(&entry.seq.to_be_bytes(), encode(entry))?;
                    }
                    out.push(rec);
                }
                let mut final_record = record.clone();
                final_record.status = overall_status(&out, record.status);
                final_record.items = out;
                if references.get(record.workflow.as_bytes())?.is_none() {
                    let r = ReferenceRecord {
                        request_id: record.id.clone(),
                        captured_at: record.received_at.clone(),
                        payload: record.payload.clone(),
                    };
                    references.insert(record.workflow.as_bytes(), encode(&r))?;
                }
                requests.insert(record.id.as_bytes(), encode(&final_record))?;
                Ok::<_, ConflictableTransactionError<StoreError>>(final_record)
            },
        );
        record = result?;
        self.bump_count(&record.workflow, record.status.as_str())?;
        Ok(record)
    }

    /// Logs a rejected request without waiting for a flush (bad requests must not slow good
    /// ones), its body cut at [`MAX_REJECTED_BODY`], and drops the workflow's oldest rejected
    /// requests past [`MAX_REJECTED`].
    pub fn log_rejected(&self, mut record: RequestRecord) -> StoreResult<()> {
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
            self.trees.requests.remove(&oldest[prefix.len()..])?;
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

    /// Requests newest first, optionally only one workflow's and/or one status.
    pub fn requests(
        &self,
        workflow: Option<&str>,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<RequestRecord>> {
        page_newest_first(
            &self.trees.requests,
            "requests",
            cursor,
            limit,
            |r: &RequestRecord| {
                workflow.is_none_or(|w| r.workflow == w)
                    && status.is_none_or(|s| r.status.as_str() == s)
            },
        )
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
