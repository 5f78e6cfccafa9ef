//! Per-workflow request counters by status, kept with the writes so listing workflows never
//! has to scan the request log.

use super::{Store, StoreResult};
use sled::transaction::{TransactionalTree, UnabortableTransactionError};

fn key(workflow: &str, status: &str) -> Vec<u8> {
    format!("{workflow}\0{status}").into_bytes()
}

fn add_one(old: Option<&[u8]>) -> u64 {
    old.and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0)
        + 1
}

/// Counts one more request of `status` inside a transaction.
pub fn bump_tx(
    tree: &TransactionalTree,
    workflow: &str,
    status: &str,
) -> Result<(), UnabortableTransactionError> {
    let k = key(workflow, status);
    let next = add_one(tree.get(&k)?.as_deref());
    tree.insert(k, &next.to_be_bytes())?;
    Ok(())
}

impl Store {
    /// Counts one more request of `status` outside a transaction.
    pub fn bump_count(&self, workflow: &str, status: &str) -> StoreResult<()> {
        self.trees
            .counts
            .fetch_and_update(key(workflow, status), |old| {
                Some(add_one(old).to_be_bytes().to_vec())
            })?;
        Ok(())
    }

    /// `{"requests": N, "accepted": N, …}` for one workflow.
    pub fn counts(&self, workflow: &str) -> StoreResult<serde_json::Value> {
        let mut out = serde_json::Map::new();
        let mut total = 0;
        for kv in self.trees.counts.scan_prefix(format!("{workflow}\0")) {
            let (k, v) = kv?;
            let status = String::from_utf8_lossy(&k[workflow.len() + 1..]).into_owned();
            let n = add_one(Some(&v)) - 1;
            total += n;
            out.insert(status, n.into());
        }
        out.insert("requests".into(), total.into());
        Ok(out.into())
    }
}
