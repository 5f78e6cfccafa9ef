//! Fills a new sled db tree by tree in bounded batches: what a restore reads from a backup file
//! and what a compaction copies from the live store.

use sled::{Batch, Db, Tree};

/// Records written per sled batch: bounded memory, few log reservations.
const BATCH: usize = 1024;

/// A new db being filled; records go to the tree named last.
pub(crate) struct Loader {
    db: Db,
    tree: Option<Tree>,
    batch: Batch,
    in_batch: usize,
}

impl Loader {
    /// Starts filling `db` (a new, empty one).
    pub fn new(db: Db) -> Self {
        Self {
            db,
            tree: None,
            batch: Batch::default(),
            in_batch: 0,
        }
    }

    /// Makes sled's id counter pass `next`: every id handed out before stays below new ones
    /// (the run queue's sequence numbers come from it). sled cannot set the counter, so ids are
    /// drawn until it passes (a few million at most, with one small write per million).
    pub fn next_id(&mut self, next: u64) -> sled::Result<()> {
        while self.db.generate_id()? < next {}
        Ok(())
    }

    /// Starts the tree `name`; the records that follow go to it.
    pub fn tree(&mut self, name: &[u8]) -> sled::Result<()> {
        self.write_batch()?;
        self.tree = Some(self.db.open_tree(name)?);
        Ok(())
    }

    /// Adds a record to the current tree; `false` when no tree was started.
    pub fn record(&mut self, key: Vec<u8>, value: Vec<u8>) -> sled::Result<bool> {
        if self.tree.is_none() {
            return Ok(false);
        }
        self.batch.insert(key, value);
        self.in_batch += 1;
        if self.in_batch == BATCH {
            self.write_batch()?;
        }
        Ok(true)
    }

    /// Writes what is pending and hands the db back (not yet flushed).
    pub fn finish(mut self) -> sled::Result<Db> {
        self.write_batch()?;
        Ok(self.db)
    }

    fn write_batch(&mut self) -> sled::Result<()> {
        if let Some(tree) = &self.tree {
            tree.apply_batch(std::mem::take(&mut self.batch))?;
        }
        self.in_batch = 0;
        Ok(())
    }
}
