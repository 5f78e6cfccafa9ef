//! Optimistic transactions over several trees.
//!
//! sled 0.34 holds one process-wide lock for the whole closure of a transaction, and every
//! plain read and write in the process waits on it: a worker running a batch of workflow steps
//! inside a transaction stalled the committer that acknowledges requests. Here the body runs
//! against plain reads instead, without the lock; its writes, and every value it read, stay in
//! [`TxTree`]. A short sled transaction at the end checks that each value read is still the one
//! seen and applies the writes, all or nothing, so the result is what the body would have done
//! holding the lock at that instant. A value that changed meanwhile runs the body again; after
//! a few such tries it runs inside a sled transaction, so a body always ends.

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionResult, Transactional,
    TransactionalTree, UnabortableTransactionError,
};
use sled::IVec;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

type TxResult<T> = Result<T, UnabortableTransactionError>;

/// Tries without the lock before the body runs under it (a key written by someone else between
/// the body's read and the commit is rare: the committer and the worker touch other trees).
const OPTIMISTIC_TRIES: usize = 3;

/// One tree as a transaction's body sees it: reads and writes like sled's `TransactionalTree`.
pub struct TxTree<'a>(View<'a>);

/// Makes a value when the commit needs it (see [`TxTree::insert_with`]).
pub type Encode = Box<dyn Fn() -> IVec>;

/// A write waiting for the commit.
enum Pending {
    /// The value, or `None` for a removal.
    Value(Option<IVec>),
    /// What makes the value, run once at the commit: a record written at every step of a
    /// batch (a contact, its timeline) is encoded once, not once a step.
    Encode(Encode),
}

impl Pending {
    fn value(&self) -> Option<IVec> {
        match self {
            Pending::Value(v) => v.clone(),
            Pending::Encode(make) => Some(make()),
        }
    }
}

enum View<'a> {
    /// Reads go to the tree and are remembered (unless `read` is `None`: a read-only body that
    /// is never checked); writes wait for the commit.
    Optimistic {
        tree: &'a sled::Tree,
        read: Option<RefCell<HashMap<IVec, Option<IVec>>>>,
        written: RefCell<BTreeMap<IVec, Pending>>,
    },
    /// Inside a sled transaction (the last try).
    Locked(&'a TransactionalTree),
}

impl<'a> TxTree<'a> {
    fn optimistic(tree: &'a sled::Tree) -> Self {
        TxTree(View::Optimistic {
            tree,
            read: Some(RefCell::default()),
            written: RefCell::default(),
        })
    }

    /// A view whose reads are not kept: its body is never committed, so never checked.
    fn unchecked(tree: &'a sled::Tree) -> Self {
        TxTree(View::Optimistic {
            tree,
            read: None,
            written: RefCell::default(),
        })
    }

    /// The value of `key` as this transaction sees it (its own writes first).
    pub fn get<K: AsRef<[u8]>>(&self, key: K) -> TxResult<Option<IVec>> {
        let key = key.as_ref();
        match &self.0 {
            View::Locked(tree) => {
                reads::count();
                tree.get(key)
            }
            View::Optimistic {
                tree,
                read,
                written,
            } => {
                if let Some(value) = written.borrow().get(key) {
                    return Ok(value.value());
                }
                let Some(read) = read else {
                    reads::count();
                    return Ok(tree.get(key)?);
                };
                if let Some(value) = read.borrow().get(key) {
                    return Ok(value.clone());
                }
                reads::count();
                let value = tree.get(key)?;
                read.borrow_mut().insert(IVec::from(key), value.clone());
                Ok(value)
            }
        }
    }

    /// Sets `key` to `value` at the commit.
    pub fn insert<K: AsRef<[u8]>, V: Into<IVec>>(&self, key: K, value: V) -> TxResult<()> {
        self.write(key.as_ref(), Some(value.into()))
    }

    /// Sets `key` to what `encode` makes, made at the commit (or when read back first): a
    /// later write of the key in this transaction replaces it before it ever runs.
    pub fn insert_with<K: AsRef<[u8]>>(&self, key: K, encode: Encode) -> TxResult<()> {
        match &self.0 {
            View::Locked(_) => self.write(key.as_ref(), Some(encode())),
            View::Optimistic { written, .. } => {
                written
                    .borrow_mut()
                    .insert(IVec::from(key.as_ref()), Pending::Encode(encode));
                Ok(())
            }
        }
    }

    /// Removes `key` at the commit.
    pub fn remove<K: AsRef<[u8]>>(&self, key: K) -> TxResult<()> {
        self.write(key.as_ref(), None)
    }

    /// `insert` that also returns the value it replaces (which then takes part in the check).
    pub fn replace<K: AsRef<[u8]>, V: Into<IVec>>(
        &self,
        key: K,
        value: V,
    ) -> TxResult<Option<IVec>> {
        let old = self.get(key.as_ref())?;
        self.insert(key, value)?;
        Ok(old)
    }

    /// `remove` that also returns the value it removes (which then takes part in the check).
    pub fn take<K: AsRef<[u8]>>(&self, key: K) -> TxResult<Option<IVec>> {
        let old = self.get(key.as_ref())?;
        self.remove(key)?;
        Ok(old)
    }

    fn write(&self, key: &[u8], value: Option<IVec>) -> TxResult<()> {
        match &self.0 {
            View::Locked(tree) => {
                tree.set(key, value);
            }
            View::Optimistic { written, .. } => {
                written
                    .borrow_mut()
                    .insert(IVec::from(key), Pending::Value(value));
            }
        }
        Ok(())
    }

    fn touched(&self) -> bool {
        match &self.0 {
            View::Optimistic { read, written, .. } => {
                read.as_ref().is_some_and(|r| !r.borrow().is_empty())
                    || !written.borrow().is_empty()
            }
            View::Locked(_) => true,
        }
    }
}

/// How many reads transactions' bodies made of the trees themselves (their own writes and
/// remembered reads not counted), on this thread: tests hold the read paths to their cost.
pub(crate) mod reads {
    #[cfg(test)]
    thread_local! {
        static READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[inline]
    pub(super) fn count() {
        #[cfg(test)]
        READS.with(|n| n.set(n.get() + 1));
    }

    /// The reads counted so far on this thread.
    #[cfg(test)]
    pub(crate) fn so_far() -> u64 {
        READS.with(|n| n.get())
    }
}

/// A value the body read changed before its commit.
struct Stale;

/// Runs `f` over `trees` (its views in the same order) as one transaction: optimistically, or
/// after [`OPTIMISTIC_TRIES`] changed reads under sled's lock. `f` may run more than once, so it
/// must only read and write through the views.
pub fn transaction<T, E>(
    trees: &[&sled::Tree],
    f: impl Fn(&[TxTree<'_>]) -> Result<T, ConflictableTransactionError<E>>,
) -> TransactionResult<T, E> {
    for attempt in 0..OPTIMISTIC_TRIES {
        if attempt > 0 {
            crate::metrics::transaction_retried(false);
        }
        let views: Vec<TxTree<'_>> = trees.iter().map(|t| TxTree::optimistic(t)).collect();
        let out = match f(&views) {
            Ok(out) => out,
            Err(ConflictableTransactionError::Conflict) => continue,
            Err(ConflictableTransactionError::Abort(e)) => return Err(TransactionError::Abort(e)),
            Err(ConflictableTransactionError::Storage(e)) => {
                return Err(TransactionError::Storage(e))
            }
        };
        match commit(trees, &views) {
            Ok(()) => return Ok(out),
            Err(TransactionError::Abort(Stale)) => continue,
            Err(TransactionError::Storage(e)) => return Err(TransactionError::Storage(e)),
        }
    }
    crate::metrics::transaction_retried(true);
    locked(trees, f)
}

/// Runs `f` inside a sled transaction, holding sled's lock throughout: for a body that reads
/// much and has no one to run beside (an import), where checking every read again at the
/// commit would cost more than the lock.
pub fn locked<T, E>(
    trees: &[&sled::Tree],
    f: impl Fn(&[TxTree<'_>]) -> Result<T, ConflictableTransactionError<E>>,
) -> TransactionResult<T, E> {
    trees.transaction(|locked| {
        let views: Vec<TxTree<'_>> = locked.iter().map(|t| TxTree(View::Locked(t))).collect();
        f(&views)
    })
}

/// Runs `f` over plain reads of `trees` and commits nothing: for lookups that show what is
/// stored (a list, not a decision), where reads a moment apart are good enough and sled's
/// lock would only make concurrent lookups wait for each other.
pub fn read_only<T, E>(
    trees: &[&sled::Tree],
    f: impl FnOnce(&[TxTree<'_>]) -> Result<T, ConflictableTransactionError<E>>,
) -> TransactionResult<T, E> {
    let views: Vec<TxTree<'_>> = trees.iter().map(|t| TxTree::unchecked(t)).collect();
    f(&views).map_err(|e| match e {
        ConflictableTransactionError::Abort(e) => TransactionError::Abort(e),
        ConflictableTransactionError::Storage(e) => TransactionError::Storage(e),
        ConflictableTransactionError::Conflict => TransactionError::Storage(
            sled::Error::ReportableBug("a read-only body reported a conflict".into()),
        ),
    })
}

/// Checks the body's reads and applies its writes in one sled transaction over the trees it
/// touched (the lock is held only for this).
fn commit(trees: &[&sled::Tree], views: &[TxTree<'_>]) -> TransactionResult<(), Stale> {
    let (touched, views): (Vec<&sled::Tree>, Vec<&TxTree<'_>>) = trees
        .iter()
        .zip(views)
        .filter(|(_, view)| view.touched())
        .map(|(tree, view)| (*tree, view))
        .unzip();
    if touched.is_empty() {
        return Ok(());
    }
    // Values are made before sled's lock is taken (and once, however often sled runs this).
    let writes: Vec<Vec<(IVec, Option<IVec>)>> = views
        .iter()
        .map(|view| match &view.0 {
            View::Optimistic { written, .. } => written
                .borrow()
                .iter()
                .map(|(key, pending)| (key.clone(), pending.value()))
                .collect(),
            View::Locked(_) => unreachable!("only optimistic views are committed here"),
        })
        .collect();
    touched[..].transaction(|locked| {
        for ((tx, view), written) in locked.iter().zip(&views).zip(&writes) {
            let View::Optimistic { read, .. } = &view.0 else {
                unreachable!("only optimistic views are committed here");
            };
            let read = read
                .as_ref()
                .expect("committed views keep their reads")
                .borrow();
            for (key, seen) in read.iter() {
                if tx.get(key)? != *seen {
                    return Err(ConflictableTransactionError::Abort(Stale));
                }
            }
            for (key, value) in written {
                tx.set(key.clone(), value.clone());
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
