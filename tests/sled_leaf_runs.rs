//! A commit writes the keys that fall in one leaf as that leaf's new page (`vendor/sled`,
//! fourteenth patch). sled linked every key of a transaction or batch to its leaf one by one,
//! and each link copied the whole leaf in memory and reserved a log entry of its own; the run
//! worker's batch appends 64 runs, 64 contacts, 64 emails… to the ends of their trees, so it
//! paid that once a key.
//!
//! The store is real sled on disk, with hookflow's settings (leaves of 32 keys, runs of 4 to
//! 64 keys grouped); this binary counts allocations (its own global allocator).

mod counting_alloc;

use counting_alloc::ALLOCATIONS;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Allocations a record may cost when a transaction appends 64 to a tree: 6 measured, 21 with a
/// link a key (the transaction's own copies of the key and value are in both).
const MOST_ALLOCATIONS_A_RECORD: usize = 12;

fn open(dir: &std::path::Path) -> sled::Db {
    hookflow::store::open_when_free(&hookflow::store::sled_config(dir, 32 << 20)).unwrap()
}

fn key(n: u64) -> [u8; 16] {
    // Ids that begin with the time, as hookflow's do.
    ((u128::from(n) << 64) | 0x01f2).to_be_bytes()
}

fn append(tree: &sled::Tree, from: u64, count: u64) {
    tree.transaction(|t| {
        for n in from..from + count {
            t.insert(&key(n)[..], vec![7u8; 100])?;
        }
        Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
    })
    .unwrap();
}

#[test]
fn a_transaction_appending_a_run_of_keys_writes_their_leaf_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let tree = db.open_tree("runs").unwrap();
    append(&tree, 0, 64);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for batch in 1..=50 {
        append(&tree, batch * 64, 64);
    }
    let per_record = (ALLOCATIONS.load(Ordering::Relaxed) - before) / (50 * 64);
    eprintln!("{per_record} allocations a record appended");
    assert!(
        per_record <= MOST_ALLOCATIONS_A_RECORD,
        "{per_record} allocations a record: a link a key again?"
    );
    drop(tree);
    drop(db);
    let tree = open(dir.path()).open_tree("runs").unwrap();
    let keys: Vec<u64> = tree
        .iter()
        .keys()
        .map(|k| (u128::from_be_bytes(k.unwrap()[..].try_into().unwrap()) >> 64) as u64)
        .collect();
    assert_eq!(keys, (0..51 * 64).collect::<Vec<_>>());
}

/// A small deterministic generator (no dependency), enough to mix the cases.
struct Steps(u64);

impl Steps {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn transactions_and_batches_of_runs_scattered_keys_and_removals_read_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let tree = db.open_tree("mixed").unwrap();
    let mut model = BTreeMap::new();
    let mut steps = Steps(0x9E37_79B9_7F4A_7C15);
    let mut appended = 10_000u64;
    for round in 0..300u64 {
        // A run appended at the end, keys anywhere below it, and removals of either.
        let mut writes: Vec<(u64, Option<Vec<u8>>)> = Vec::new();
        for _ in 0..steps.next(80) {
            writes.push((
                appended,
                Some(round.to_be_bytes().repeat(1 + steps.next(20) as usize)),
            ));
            appended += 1;
        }
        for _ in 0..steps.next(12) {
            writes.push((
                steps.next(appended),
                Some(vec![round as u8; steps.next(300) as usize]),
            ));
        }
        for _ in 0..steps.next(40) {
            let from = steps.next(appended);
            writes.push((from, None));
            writes.push((from + 1, None));
        }
        if round % 2 == 0 {
            tree.transaction(|t| {
                for (n, v) in &writes {
                    match v {
                        Some(v) => t.insert(&key(*n)[..], v.clone())?,
                        None => t.remove(&key(*n)[..])?,
                    };
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .unwrap();
        } else {
            let mut batch = sled::Batch::default();
            for (n, v) in &writes {
                match v {
                    Some(v) => batch.insert(&key(*n)[..], v.clone()),
                    None => batch.remove(&key(*n)[..]),
                }
            }
            tree.apply_batch(batch).unwrap();
        }
        // Within one transaction or batch the last write of a key is the one kept.
        for (n, v) in writes {
            match v {
                Some(v) => model.insert(key(n).to_vec(), v),
                None => model.remove(key(n).as_slice()),
            };
        }
        if round % 50 == 49 {
            assert_eq!(contents(&tree), model, "after round {round}");
        }
    }
    drop(tree);
    drop(db);
    let tree = open(dir.path()).open_tree("mixed").unwrap();
    assert_eq!(contents(&tree), model, "after a reopen");
    let backwards: Vec<Vec<u8>> = tree
        .iter()
        .keys()
        .rev()
        .map(|k| k.unwrap().to_vec())
        .collect();
    assert!(backwards.iter().rev().eq(model.keys()));
}

fn contents(tree: &sled::Tree) -> BTreeMap<Vec<u8>, Vec<u8>> {
    tree.iter()
        .map(|kv| kv.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}
