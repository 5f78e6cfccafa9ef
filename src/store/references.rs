//! Each workflow's reference: the first request that passed auth and parsed. Later requests
//! never replace it; only the admin API sets or clears it.

use super::codec::{decode, encode};
use super::{Store, StoreResult};
use serde::{Deserialize, Serialize};

/// Which logged request is a workflow's reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceRecord {
    pub request_id: String,
    pub captured_at: String,
    /// A copy of the payload, so the reference outlives the request log (`hookflow reset`).
    #[serde(default)]
    pub payload: serde_json::Value,
}

impl Store {
    /// The workflow's reference, if one was captured.
    pub fn reference(&self, workflow: &str) -> StoreResult<Option<ReferenceRecord>> {
        match self.trees.references.get(workflow.as_bytes())? {
            Some(v) => Ok(Some(decode("references", &v)?)),
            None => Ok(None),
        }
    }

    /// Makes a logged request the workflow's reference (durable after the caller's flush).
    pub fn set_reference(&self, workflow: &str, record: &ReferenceRecord) -> StoreResult<()> {
        self.trees
            .references
            .insert(workflow.as_bytes(), encode(record))?;
        Ok(())
    }

    /// Clears the reference; the next accepted request becomes the new one (durable after the
    /// caller's flush).
    pub fn clear_reference(&self, workflow: &str) -> StoreResult<bool> {
        let had = self.trees.references.remove(workflow.as_bytes())?.is_some();
        Ok(had)
    }
}
