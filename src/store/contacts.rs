//! The contact store in sled: contacts, their email and phone indexes and their timelines.
//!
//! Workflow steps change contacts inside the engine's own multi-tree transaction (so a step's
//! contact changes, the run's position and its outbox rows commit together): take the five trees
//! from [`ContactTrees::trees`], add yours, and wrap the transactional trees in a [`ContactTx`]:
//! `(a, b, c, d, e, &runs).transaction(|(a, b, c, d, e, runs)| { let tx = ContactTx::new(a, b, c, d, e); … })`.
//! The API's reads and edits (`get`, `list`, `merge_patch`, `delete`, `import_csv`,
//! `export_csv`) are methods here.

mod block;
mod change;
mod csv_file;
mod index;
mod matching;
mod name_scan;
mod packed;
mod patch;
mod query;
mod timeline;
mod tx;

pub use change::{
    add_tags, apply_update, remove_tags, set_dnd, set_enrolment, ContactUpdate, UpdateOutcome,
};
pub use csv_file::{ExportError, FileCheck, ImportReport, RowNote, COLUMNS as CSV_COLUMNS};
pub use matching::{find_contact, FindInput, FindOutcome, MatchedBy};
pub use query::ContactQuery;
pub use tx::{ContactTx, TxResult};

use crate::domain::contact::{Actor, TimelineEntry};
use crate::domain::time::Millis;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// Why a contact operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContactError {
    /// Emails are unique; the API answers 409.
    #[error("email {email} already belongs to contact {contact_id}; change or clear that contact's email first")]
    EmailTaken {
        /// The clashing (normalised) email.
        email: String,
        /// The contact that already has it.
        contact_id: String,
    },
    /// The input was refused; the message says which field and why.
    #[error("{0}")]
    Invalid(String),
    /// No contact has that id.
    #[error("contact not found")]
    NotFound,
    /// sled failed or stored data is unreadable.
    #[error("contact store: {0}")]
    Store(String),
    /// The data dir's disk is down to its reserve (see `store::space`): nothing more is
    /// written; the message says what was and how to go on.
    #[error("{0}")]
    NoRoom(String),
}

impl From<TransactionError<ContactError>> for ContactError {
    fn from(e: TransactionError<ContactError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => ContactError::Store(e.to_string()),
        }
    }
}

impl From<sled::Error> for ContactError {
    fn from(e: sled::Error) -> Self {
        ContactError::Store(e.to_string())
    }
}

/// Aborts a transaction with `e`.
pub(crate) fn abort<T>(e: ContactError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

/// Who is changing a contact, and when; every change's timeline entry is built from it.
#[derive(Debug, Clone)]
pub struct ChangeCtx {
    /// hookflow's clock (manual or real).
    pub now: Millis,
    /// The run making the change, if any.
    pub run_id: Option<String>,
    /// The step's path, e.g. `[2]`.
    pub step: Option<String>,
    /// Who is making it.
    pub actor: Actor,
}

impl ChangeCtx {
    /// A change made through the admin API at `now`.
    pub fn api(now: Millis) -> Self {
        Self {
            now,
            run_id: None,
            step: None,
            actor: Actor::Api,
        }
    }

    /// A change made by a CSV import at `now`.
    pub fn import(now: Millis) -> Self {
        Self {
            actor: Actor::Import,
            ..Self::api(now)
        }
    }

    /// The timeline entry for `changes`.
    pub fn entry(&self, changes: serde_json::Value) -> TimelineEntry {
        TimelineEntry {
            at: self.now,
            run_id: self.run_id.clone(),
            step: self.step.clone(),
            actor: self.actor,
            changes,
        }
    }
}

/// The five contact trees of one database.
#[derive(Clone)]
pub struct ContactTrees {
    pub(in crate::store) contacts: sled::Tree,
    pub(in crate::store) by_email: sled::Tree,
    pub(in crate::store) by_phone: sled::Tree,
    timeline: sled::Tree,
    /// Tags and search entries ([`index`]).
    index: sled::Tree,
    /// Held by whoever changes the packed blocks ([`packed`]): one at a time.
    packing: std::sync::Arc<std::sync::Mutex<()>>,
    /// Where a pack cuts blocks ([`packed::BLOCK_BYTES`]; tests make small blocks).
    block_bytes: usize,
    /// The data dir whose free-space reserve an import keeps (`store::space`); none for
    /// trees opened without a store.
    reserve_of: Option<std::path::PathBuf>,
}

/// The contact trees in `ContactTx::new` order.
pub type TreeRefs<'a> = (
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
    &'a sled::Tree,
);

impl ContactTrees {
    /// Opens (or creates) the trees `contacts`, `contacts_by_email`, `contacts_by_phone`,
    /// `contact_timeline` and `contacts_index`, building the index when it is missing (a data
    /// dir from an older hookflow: one pass over the contacts, logged).
    pub fn open(db: &sled::Db) -> Result<Self, ContactError> {
        let trees = Self {
            contacts: db.open_tree("contacts")?,
            by_email: db.open_tree("contacts_by_email")?,
            by_phone: db.open_tree("contacts_by_phone")?,
            timeline: db.open_tree("contact_timeline")?,
            index: db.open_tree(index::TREE)?,
            packing: Default::default(),
            block_bytes: packed::BLOCK_BYTES,
            reserve_of: None,
        };
        let started = std::time::Instant::now();
        let built = index::ensure(&trees.contacts, &trees.index).map_err(ContactError::Store)?;
        // A new store's empty pass is not news; an upgraded one's is.
        if let Some(count) = built.filter(|n| *n > 0) {
            tracing::info!(
                contacts = count,
                ms = started.elapsed().as_millis() as u64,
                "built the contacts index (tags, search entries)"
            );
        }
        Ok(trees)
    }

    /// Imports into these trees stop when the disk of `data_dir` is down to its reserve.
    pub(crate) fn keeping_the_reserve_of(mut self, data_dir: &std::path::Path) -> Self {
        self.reserve_of = Some(data_dir.to_path_buf());
        self
    }

    /// The trees in `ContactTx::new` order, for a caller's own multi-tree transaction.
    pub fn trees(&self) -> TreeRefs<'_> {
        (
            &self.contacts,
            &self.by_email,
            &self.by_phone,
            &self.timeline,
            &self.index,
        )
    }

    /// Runs `f` in a transaction over the contact trees alone (optimistic, see [`super::txn`]).
    pub fn transaction<T>(
        &self,
        f: impl Fn(&ContactTx<'_>) -> TxResult<T>,
    ) -> Result<T, ContactError> {
        Ok(super::txn::transaction(&self.all(), |v| {
            f(&ContactTx::of(v))
        })?)
    }

    /// `transaction` under sled's lock throughout (see [`super::txn::locked`]): for imports.
    pub fn transaction_locked<T>(
        &self,
        f: impl Fn(&ContactTx<'_>) -> TxResult<T>,
    ) -> Result<T, ContactError> {
        Ok(super::txn::locked(&self.all(), |v| f(&ContactTx::of(v)))?)
    }

    /// Runs `f` over plain reads of the contact trees, without sled's lock or a commit: for
    /// lookups (writes made through `f` are dropped).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&ContactTx<'_>) -> TxResult<T>,
    ) -> Result<T, ContactError> {
        Ok(super::txn::read_only(&self.all(), |v| {
            f(&ContactTx::of(v))
        })?)
    }

    /// The five trees in `ContactTx::new` order.
    fn all(&self) -> [&sled::Tree; 5] {
        let (c, e, p, t, i) = self.trees();
        [c, e, p, t, i]
    }

    /// Empties all five trees (`hookflow reset`).
    pub fn clear(&self) -> Result<(), ContactError> {
        for tree in [
            &self.contacts,
            &self.by_email,
            &self.by_phone,
            &self.timeline,
        ] {
            tree.clear()?;
        }
        let _packing = self.packing.lock().unwrap_or_else(|e| e.into_inner());
        index::clear(&self.index)?;
        Ok(())
    }

    /// Moves the search texts written since the last pack into the packed blocks (see
    /// [`packed`]); returns how many contacts' texts it moved. Cheap when there are none.
    pub fn pack(&self) -> Result<u64, ContactError> {
        let _packing = self.packing.lock().unwrap_or_else(|e| e.into_inner());
        packed::pack(&self.index, self.block_bytes)
    }

    /// These trees with packs cutting blocks at `max` bytes (tests: blocks of a few contacts).
    #[cfg(test)]
    pub(crate) fn with_block_bytes(self, max: usize) -> Self {
        Self {
            block_bytes: max,
            ..self
        }
    }
}

#[cfg(test)]
mod tests;
