//! Hook ids: the secret path segment of each workflow's inbound URL, made once per workflow id
//! and kept, so the URL survives restarts and edits.

use super::{Store, StoreError, StoreResult};
use crate::domain::ids::{HookId, WorkflowId};
use sled::transaction::{ConflictableTransactionError, Transactional};

/// Hook id → workflow, for the hook ids seen so far.
pub(crate) type HookCache = std::collections::HashMap<String, WorkflowId>;

/// A stored hook id, unless the bytes are not one (then a new id replaces it).
fn hook_of(bytes: &[u8]) -> Option<HookId> {
    HookId::parse(&String::from_utf8_lossy(bytes))
}

impl Store {
    /// The workflow's hook id, created from the OS random source the first time the id is seen.
    /// Both directions are written in one transaction, so a printed URL always answers; one
    /// whose reverse entry was lost (a crash before writes were transactional) is repaired.
    pub fn hook_id_for(&self, workflow: &WorkflowId) -> StoreResult<HookId> {
        let key = workflow.as_str().as_bytes();
        if let Some(id) = self.trees.hooks.get(key)?.and_then(|v| hook_of(&v)) {
            if self.trees.hooks_by_id.contains_key(id.as_str())? {
                return Ok(id);
            }
        }
        let fresh = HookId::generate();
        let t = &self.trees;
        let id = (&t.hooks, &t.hooks_by_id).transaction(|(hooks, by_id)| {
            // Read again inside: concurrent first sightings agree on one id.
            let id = match hooks.get(key)?.and_then(|v| hook_of(&v)) {
                Some(id) => id,
                None => {
                    hooks.insert(key, fresh.as_str().as_bytes())?;
                    fresh.clone()
                }
            };
            by_id.insert(id.as_str().as_bytes(), key)?;
            Ok::<_, ConflictableTransactionError<StoreError>>(id)
        })?;
        Ok(id)
    }

    /// The workflow a hook id belongs to, if any. Known hooks are answered from memory: this
    /// runs for every request, and a sled read waits while any sled transaction runs (sled
    /// 0.34 holds a process-wide lock for each), which stalled request handlers behind the
    /// worker's.
    pub fn workflow_for_hook(&self, hook: &str) -> StoreResult<Option<WorkflowId>> {
        if let Some(found) = self.known_hooks().get(hook) {
            return Ok(Some(found.clone()));
        }
        let found = self
            .trees
            .hooks_by_id
            .get(hook.as_bytes())?
            .and_then(|v| WorkflowId::parse(&String::from_utf8_lossy(&v)).ok());
        if let Some(wf) = &found {
            // Only ids that exist are kept, so the map is as small as the hooks tree.
            self.hook_cache
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(hook.to_string(), wf.clone());
        }
        Ok(found)
    }

    fn known_hooks(&self) -> std::sync::RwLockReadGuard<'_, HookCache> {
        self.hook_cache.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every cached hook id (the hooks tree changed under it).
    pub(crate) fn forget_hooks(&self) {
        self.hook_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Replaces the workflow's hook id; the old URL stops answering. The caller flushes before
    /// it prints the new URL (the server without blocking, the CLI with `flush_now`).
    pub fn rotate_hook(&self, workflow: &WorkflowId) -> StoreResult<HookId> {
        let fresh = HookId::generate();
        let key = workflow.as_str().as_bytes();
        if let Some(old) = self.trees.hooks.insert(key, fresh.as_str().as_bytes())? {
            self.trees.hooks_by_id.remove(&old)?;
            self.hook_cache
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(String::from_utf8_lossy(&old).as_ref());
        }
        self.trees
            .hooks_by_id
            .insert(fresh.as_str().as_bytes(), key)?;
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_hook_id_is_found_from_both_sides_once_it_is_given_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let wf = WorkflowId::parse("bookings").unwrap();
        let hook = store.hook_id_for(&wf).unwrap();
        assert_eq!(store.hook_id_for(&wf).unwrap(), hook);
        assert_eq!(store.workflow_for_hook(hook.as_str()).unwrap(), Some(wf));
    }

    #[test]
    fn a_hook_id_whose_reverse_entry_was_lost_in_a_crash_answers_again() {
        // What a crash between the two separate writes of the old code left behind: `hooks`
        // has the id, `hooks_by_id` does not, so the printed URL answered 404 for good.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let wf = WorkflowId::parse("bookings").unwrap();
        let lost = HookId::generate();
        store
            .trees
            .hooks
            .insert(wf.as_str(), lost.as_str().as_bytes())
            .unwrap();
        assert_eq!(store.workflow_for_hook(lost.as_str()).unwrap(), None);
        let hook = store.hook_id_for(&wf).unwrap();
        assert_eq!(
            hook.as_str(),
            lost.as_str(),
            "the printed URL stays the same"
        );
        assert_eq!(store.workflow_for_hook(lost.as_str()).unwrap(), Some(wf));
    }

    #[test]
    fn a_rotated_or_reset_hook_id_stops_answering_even_after_it_was_looked_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let wf = WorkflowId::parse("bookings").unwrap();
        let old = store.hook_id_for(&wf).unwrap();
        assert_eq!(
            store.workflow_for_hook(old.as_str()).unwrap(),
            Some(wf.clone())
        );
        let new = store.rotate_hook(&wf).unwrap();
        assert_eq!(store.workflow_for_hook(old.as_str()).unwrap(), None);
        assert_eq!(store.workflow_for_hook(new.as_str()).unwrap(), Some(wf));
        store.reset(true).unwrap();
        assert_eq!(store.workflow_for_hook(new.as_str()).unwrap(), None);
    }
}
