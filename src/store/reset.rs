//! `hookflow reset`: empties what testing accumulates — contacts, requests, runs, queue,
//! outbox, timers and enrolments — and keeps hook ids and references unless asked (`all`).

use super::{Store, StoreError, StoreResult};

impl Store {
    /// Clears the store's working data; with `all`, hook ids and references too (every
    /// workflow then gets a new URL). The caller must keep the worker out while this runs.
    pub fn reset(&self, all: bool) -> StoreResult<()> {
        let t = &self.trees;
        for tree in [
            &t.requests,
            &t.requests_rejected,
            &t.queue,
            &t.runs,
            &t.runs_active,
            &t.dedupe,
            &t.counts,
        ] {
            tree.clear()?;
        }
        super::run_index::clear(&t.runs_index)?;
        super::request_index::clear(&t.requests_index)?;
        self.contacts
            .clear()
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        for tree in [
            self.outbox.outbox(),
            self.outbox.bodies(),
            self.outbox.pending(),
            self.outbox.unsubscribe(),
        ] {
            tree.clear()?;
        }
        self.rejected.clear()?;
        self.clear_timers()?;
        self.clear_enrolments()?;
        if all {
            for tree in [&t.hooks, &t.hooks_by_id, &t.references] {
                tree.clear()?;
            }
            self.forget_hooks();
        }
        let outbox_dir = self.dir.join("outbox");
        if let Ok(files) = std::fs::read_dir(&outbox_dir) {
            for file in files.flatten() {
                if file.path().extension().is_some_and(|e| e == "eml") {
                    let _ = std::fs::remove_file(file.path());
                }
            }
        }
        self.flush_now()
    }
}
