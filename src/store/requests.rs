//! The request log: every request that reached a known hook, accepted or rejected, with its
//! items and the runs they queued. Acceptance writes the record, the queue entries, the
//! reference (when the workflow has none) and dedupe marks in one transaction.
//!
//! The rejected part of the log is bounded, because anyone who knows a URL can fill it: per
//! workflow only the newest [`MAX_REJECTED`] rejected requests are kept, each body cut at
//! [`MAX_REJECTED_BODY`] bytes (`body_truncated`). An index tree (`workflow\0id` → ()) with a
//! per-workflow count (`workflow\x01` → u64) finds the oldest without scanning the log.

use super::codec::{decode, encode, Page};
pub use super::ingest::OnWritten;

pub(crate) mod page;
pub(crate) mod stored;
mod walk;
use super::queue::QueueEntry;
use super::request_index::{self, RequestKeys};
use super::{Store, StoreResult};
use serde::{Deserialize, Serialize};
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
#[serde(try_from = "stored::Raw")]
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
    /// `payload` is `body` read as strict JSON, so the log stores the body only and reads the
    /// payload from it again (see [`stored`]). Never shown.
    #[serde(skip)]
    pub payload_is_body: bool,
}

impl RequestRecord {
    /// The record's JSON as a page of the request log holds it (without the payload when that
    /// is the body's JSON: see [`stored`]); the page is compressed as a whole.
    pub fn stored_bytes(&self) -> Vec<u8> {
        stored::encode_json(self)
    }
}

/// What the acceptance transaction decides per item: its dedupe key and queue entry.
pub struct PendingItem {
    pub record: ItemRecord,
    pub queue: Option<QueueEntry>,
    /// Dedupe key and the time (ms) until which it blocks repeats.
    pub dedupe: Option<(String, i64)>,
}

impl Store {
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
            .requests_rejected
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
            let id = &oldest[prefix.len()..];
            // Rejected requests logged before request pages are in the log itself.
            let gone = match self.trees.requests_rejected.remove(id)? {
                Some(gone) => Some(gone),
                None => self.trees.requests.remove(id)?,
            };
            if let Some(gone) = gone {
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
        match walk::stored(&self.trees, id)? {
            Some(bytes) => Ok(Some(decode("requests", &bytes)?)),
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
        if workflow.is_none() && status.is_none() {
            let mut items = Vec::new();
            for stored in walk::NewestFirst::new(&self.trees, cursor) {
                let (id, bytes) = stored?;
                if items.len() == limit {
                    let next_cursor = items.last().map(|r: &RequestRecord| r.id.clone());
                    return Ok(Page { items, next_cursor });
                }
                let record: RequestRecord = decode("requests", &bytes)?;
                debug_assert_eq!(record.id, id);
                items.push(record);
            }
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
        let lists = request_index::lists(&self.trees.requests_index, workflow, status)?;
        let below = cursor.map(|c| c.as_bytes().to_vec());
        let mut items = Vec::new();
        let mut ids = request_index::Union::new(&self.trees.requests_index, lists, below);
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

/// Makes new ids sort after every request of the log (see [`page`]: a clock set back must not
/// put a new round's page inside an older one).
pub(crate) fn advance_ids(trees: &super::Trees) -> StoreResult<()> {
    if let Some((key, bytes)) = trees.requests.last()? {
        let page = page::Page::parse(&bytes).ok();
        match page.as_ref().and_then(page::Page::last_id) {
            Some(last) => crate::domain::ids::advance_past(last),
            None => crate::domain::ids::advance_past(&String::from_utf8_lossy(&key)),
        }
    }
    if let Some((key, _)) = trees.requests_rejected.last()? {
        crate::domain::ids::advance_past(&String::from_utf8_lossy(&key));
    }
    Ok(())
}

/// `accepted` when any item was accepted, else the items' common status.
pub(crate) fn overall_status(items: &[ItemRecord], fallback: ItemStatus) -> ItemStatus {
    if items.iter().any(|i| i.status == ItemStatus::Accepted) {
        return ItemStatus::Accepted;
    }
    match items.first() {
        Some(first) if items.iter().all(|i| i.status == first.status) => first.status,
        Some(_) => ItemStatus::Filtered,
        None => fallback,
    }
}
