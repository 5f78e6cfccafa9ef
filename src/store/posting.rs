//! Posting lists kept as sled keys, and their intersection newest first.
//!
//! An index entry is the key `prefix ++ id` with an empty value: every record that has a tag
//! or a status is one key under that value's prefix. sled keeps keys sorted, so one prefix is
//! the list of ids in id order, and ids are ULIDs: newest last. A list page of
//! records having *all* of several values walks the lists backwards together ("leapfrog"): each
//! list jumps (a range seek) to the newest id not newer than the current candidate, and an id
//! that every list reaches is a match. The cost follows the matches and the gaps the jumps
//! skip, not the size of the store.

use sled::transaction::UnabortableTransactionError;
use sled::IVec;

/// The ids present under every one of `prefixes`, newest first, strictly below `below`.
pub(crate) struct Intersection<'a> {
    tree: &'a sled::Tree,
    prefixes: Vec<Vec<u8>>,
    below: Option<Vec<u8>>,
    done: bool,
}

impl<'a> Intersection<'a> {
    /// Ids in every list of `prefixes` (none given: nothing matches) below `below` (exclusive).
    pub(crate) fn new(
        tree: &'a sled::Tree,
        prefixes: Vec<Vec<u8>>,
        below: Option<Vec<u8>>,
    ) -> Self {
        let done = prefixes.is_empty();
        Self {
            tree,
            prefixes,
            below,
            done,
        }
    }

    /// The newest id of the list `prefix` that is `< bound` (or `<= bound` when `inclusive`).
    fn newest(
        &self,
        prefix: &[u8],
        bound: Option<&[u8]>,
        inclusive: bool,
    ) -> sled::Result<Option<Vec<u8>>> {
        let last = match bound {
            None => self.tree.scan_prefix(prefix).next_back(),
            Some(id) => {
                let mut end = prefix.to_vec();
                end.extend_from_slice(id);
                if inclusive {
                    self.tree.range(prefix.to_vec()..=end).next_back()
                } else {
                    self.tree.range(prefix.to_vec()..end).next_back()
                }
            }
        };
        Ok(last
            .transpose()?
            .map(|(key, _): (IVec, IVec)| key[prefix.len()..].to_vec()))
    }

    fn step(&mut self) -> sled::Result<Option<Vec<u8>>> {
        let Some(mut candidate) = self.newest(&self.prefixes[0], self.below.as_deref(), false)?
        else {
            return Ok(None);
        };
        // Every list must hold the candidate; one that does not offers an older one instead.
        let mut agreed = 1;
        let mut i = 1;
        while agreed < self.prefixes.len() {
            let list = i % self.prefixes.len();
            match self.newest(&self.prefixes[list], Some(&candidate), true)? {
                None => return Ok(None),
                Some(id) if id == candidate => agreed += 1,
                Some(id) => {
                    candidate = id;
                    agreed = 1;
                }
            }
            i += 1;
        }
        Ok(Some(candidate))
    }
}

impl Iterator for Intersection<'_> {
    type Item = sled::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(id)) => {
                self.below = Some(id.clone());
                Some(Ok(id))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Where index writes go: a transaction's view of the tree, or a batch applied at once.
pub trait IndexWrite {
    /// Sets the entry `key` to `value`.
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), UnabortableTransactionError>;
    /// Removes the entry `key`.
    fn del(&self, key: Vec<u8>) -> Result<(), UnabortableTransactionError>;
}

impl IndexWrite for sled::transaction::TransactionalTree {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), UnabortableTransactionError> {
        self.set(key, Some(value.into()));
        Ok(())
    }
    fn del(&self, key: Vec<u8>) -> Result<(), UnabortableTransactionError> {
        self.set(key, None);
        Ok(())
    }
}

impl IndexWrite for super::txn::TxTree<'_> {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), UnabortableTransactionError> {
        self.insert(key, value)
    }
    fn del(&self, key: Vec<u8>) -> Result<(), UnabortableTransactionError> {
        self.remove(key)
    }
}

impl IndexWrite for std::cell::RefCell<sled::Batch> {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), UnabortableTransactionError> {
        self.borrow_mut().insert(key, value);
        Ok(())
    }
    fn del(&self, key: Vec<u8>) -> Result<(), UnabortableTransactionError> {
        self.borrow_mut().remove(key);
        Ok(())
    }
}

/// One index entry: a key and its value (empty for a posting).
pub type Entry = (Vec<u8>, Vec<u8>);

/// Writes the difference between a record's old and new index entries (both sorted by key):
/// keys that went are removed, entries that are new or changed are written, the rest is left.
pub(crate) fn apply_diff<W: IndexWrite + ?Sized>(
    index: &W,
    old: &[Entry],
    new: &[Entry],
) -> Result<(), UnabortableTransactionError> {
    let find = |list: &[Entry], key: &[u8]| {
        list.binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()
            .map(|i| list[i].1.clone())
    };
    for (key, _) in old.iter().filter(|(k, _)| find(new, k).is_none()) {
        index.del(key.clone())?;
    }
    for (key, value) in new {
        if find(old, key).as_ref() != Some(value) {
            index.put(key.clone(), value.clone())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(tree: &sled::Tree, prefixes: &[&str], below: Option<&str>) -> Vec<String> {
        let prefixes = prefixes.iter().map(|p| p.as_bytes().to_vec()).collect();
        Intersection::new(tree, prefixes, below.map(|b| b.as_bytes().to_vec()))
            .map(|id| String::from_utf8(id.unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn the_intersection_of_lists_holds_the_ids_in_all_of_them_newest_first() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        for (prefix, ids) in [
            ("a:", "1 2 3 5 8 9"),
            ("b:", "2 3 4 8 9"),
            ("c:", "0 3 8 9"),
        ] {
            for id in ids.split(' ') {
                tree.insert(format!("{prefix}{id}"), &[][..]).unwrap();
            }
        }
        assert_eq!(list(&tree, &["a:", "b:", "c:"], None), ["9", "8", "3"]);
        assert_eq!(list(&tree, &["c:", "a:"], Some("8")), ["3"]);
        assert_eq!(list(&tree, &["b:"], Some("4")), ["3", "2"]);
        assert!(list(&tree, &["a:", "z:"], None).is_empty());
        assert!(list(&tree, &[], None).is_empty());
    }
}
