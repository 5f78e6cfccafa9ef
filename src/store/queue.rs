//! The run queue: one entry per accepted item, keyed by a monotonic sequence number so runs
//! start in acceptance order. An entry stays until its run has been recorded.

use super::codec::decode;
use super::{Store, StoreResult};
use serde::{Deserialize, Serialize};

/// Everything a run needs about the request that queued it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueEntry {
    pub seq: u64,
    pub run_id: String,
    pub request_id: String,
    pub index: usize,
    pub workflow: String,
    /// The workflow version (file hash) the run will use.
    pub version: String,
    /// The item after split.
    pub item: serde_json::Value,
    /// `request` in templates: headers (masked), query, received_at.
    pub request: serde_json::Value,
    pub accepted_at: i64,
}

impl Store {
    /// A fresh, monotonic queue sequence number.
    pub fn next_seq(&self) -> StoreResult<u64> {
        Ok(self.db.generate_id()?)
    }

    /// Entries in acceptance order, starting after `after` (exclusive), at most `limit`.
    pub fn queued(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<QueueEntry>> {
        let iter = match after {
            Some(seq) => self.trees.queue.range((seq + 1).to_be_bytes()..),
            None => self.trees.queue.iter(),
        };
        iter.take(limit)
            .map(|kv| {
                let (_, v) = kv?;
                decode("queue", &v)
            })
            .collect()
    }

    /// The queue entry of a run that has not started yet, if any.
    pub fn queued_run(&self, run_id: &str) -> StoreResult<Option<QueueEntry>> {
        for kv in self.trees.queue.iter() {
            let (_, v) = kv?;
            let e: QueueEntry = decode("queue", &v)?;
            if e.run_id == run_id {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
}
