//! Per-workflow request counters by status, so listing workflows never scans the request log.
//!
//! Accepted, filtered, duplicate and captured requests are counted by the committer in the
//! transaction that writes them, so the counters always agree with the log. Rejected requests
//! are counted with sled's merge operator: they are logged by many handlers at once, without a
//! transaction, and a merge adds one without a read-modify-write.

use super::{Store, StoreResult};

/// The counter's key of a workflow and status.
pub(crate) fn key(workflow: &str, status: &str) -> Vec<u8> {
    format!("{workflow}\0{status}").into_bytes()
}

/// A stored counter's value (0 when absent).
pub(crate) fn read(v: Option<&[u8]>) -> u64 {
    v.and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0)
}

/// The merge operator of the `counts` tree: adds the operand to the stored number.
pub fn add(_key: &[u8], old: Option<&[u8]>, operand: &[u8]) -> Option<Vec<u8>> {
    Some((read(old) + read(Some(operand))).to_be_bytes().to_vec())
}

impl Store {
    /// Counts one more request of `status`.
    pub fn bump_count(&self, workflow: &str, status: &str) -> StoreResult<()> {
        self.trees
            .counts
            .merge(key(workflow, status), 1u64.to_be_bytes())?;
        Ok(())
    }

    /// `{"requests": N, "accepted": N, …}` for one workflow.
    pub fn counts(&self, workflow: &str) -> StoreResult<serde_json::Value> {
        let mut out = serde_json::Map::new();
        let mut total = 0;
        for kv in self.trees.counts.scan_prefix(format!("{workflow}\0")) {
            let (k, v) = kv?;
            let status = String::from_utf8_lossy(&k[workflow.len() + 1..]).into_owned();
            let n = read(Some(&v));
            total += n;
            out.insert(status, n.into());
        }
        out.insert("requests".into(), total.into());
        Ok(out.into())
    }
}
