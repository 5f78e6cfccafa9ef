//! The store's levels for `/metrics`, read at scrape time: each is a count over a small tree
//! (the queue, due timers, pending emails, the bounded rejected log), never a scan of the
//! request log, runs or contacts.

use super::outbox::OutboxState;
use super::{Store, StoreError, StoreResult};
use crate::domain::time::Millis;
use crate::metrics::Levels;

impl Store {
    /// The queue depth, due and scheduled timers, pending emails by state and the rejected
    /// log's size per workflow, at `now` on hookflow's clock.
    pub fn levels(&self, now: Millis) -> StoreResult<Levels> {
        let due_end = (now.max(0) as u64).saturating_add(1).to_be_bytes();
        let mut levels = Levels {
            queue_depth: self.trees.queue.len() as u64,
            timers_due: self.trees.timers.range(..due_end).count() as u64,
            timers: self.trees.timers.len() as u64,
            ..Levels::default()
        };
        let pending = self
            .outbox
            .pending_rows()
            .map_err(|e| StoreError::Corrupt {
                tree: "outbox",
                message: e.to_string(),
            })?;
        for record in pending {
            match record.state {
                OutboxState::Sending => levels.outbox_sending += 1,
                _ => levels.outbox_queued += 1,
            }
        }
        levels.rejected = self.rejected_sizes()?;
        Ok(levels)
    }

    /// Each workflow's count in the rejected log's index (`WORKFLOW \x01` → u64 BE), which
    /// holds at most 1,000 entries per workflow besides these counts.
    fn rejected_sizes(&self) -> StoreResult<Vec<(String, u64)>> {
        let index = self.db.open_tree("rejected")?;
        let mut out = Vec::new();
        for kv in index.iter() {
            let (k, v) = kv?;
            let (Some((&1, workflow)), Ok(n)) = (k.split_last(), <[u8; 8]>::try_from(&v[..]))
            else {
                continue;
            };
            out.push((
                String::from_utf8_lossy(workflow).into_owned(),
                u64::from_be_bytes(n),
            ));
        }
        Ok(out)
    }
}
