//! Hook ids: the secret path segment of each workflow's inbound URL, made once per workflow id
//! and kept, so the URL survives restarts and edits.

use super::{Store, StoreResult};
use crate::domain::ids::{HookId, WorkflowId};

impl Store {
    /// The workflow's hook id, created from the OS random source the first time the id is seen.
    pub fn hook_id_for(&self, workflow: &WorkflowId) -> StoreResult<HookId> {
        let key = workflow.as_str().as_bytes();
        if let Some(existing) = self.trees.hooks.get(key)? {
            if let Some(id) = HookId::parse(&String::from_utf8_lossy(&existing)) {
                return Ok(id);
            }
        }
        let fresh = HookId::generate();
        // compare_and_swap makes concurrent first sightings agree on one id.
        match self.trees.hooks.compare_and_swap(
            key,
            None as Option<&[u8]>,
            Some(fresh.as_str().as_bytes()),
        )? {
            Ok(()) => {
                self.trees
                    .hooks_by_id
                    .insert(fresh.as_str().as_bytes(), key)?;
                Ok(fresh)
            }
            Err(_) => self.hook_id_for(workflow),
        }
    }

    /// The workflow a hook id belongs to, if any.
    pub fn workflow_for_hook(&self, hook: &str) -> StoreResult<Option<WorkflowId>> {
        Ok(self
            .trees
            .hooks_by_id
            .get(hook.as_bytes())?
            .and_then(|v| WorkflowId::parse(&String::from_utf8_lossy(&v)).ok()))
    }

    /// Replaces the workflow's hook id; the old URL stops answering.
    pub fn rotate_hook(&self, workflow: &WorkflowId) -> StoreResult<HookId> {
        let fresh = HookId::generate();
        let key = workflow.as_str().as_bytes();
        if let Some(old) = self.trees.hooks.insert(key, fresh.as_str().as_bytes())? {
            self.trees.hooks_by_id.remove(old)?;
        }
        self.trees
            .hooks_by_id
            .insert(fresh.as_str().as_bytes(), key)?;
        self.flush_now()?;
        Ok(fresh)
    }
}
