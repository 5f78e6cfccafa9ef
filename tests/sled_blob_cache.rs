//! sled's cache (`vendor/sled`) evicts a node written as a blob like any other. A node over
//! sled's blob threshold (128 KiB: a leaf of the contacts' search blocks, of large request
//! bodies) is a file of its own and the log holds only a pointer to it. Published sled counted
//! such a node in its cache at the pointer's size, so once read it stayed: after one name
//! search of a million contacts that matched nothing, the 653 block files (92 MB) stayed
//! resident whatever `--cache` said (RSS 138 → 236 MiB). Patched, a blob's node counts at
//! least its size in memory, a large access is counted at once rather than queued, and a
//! small cache has fewer shards (each keeps the item it took last).
//!
//! This binary counts every allocation (its own global allocator), so the figure is exact bytes
//! of heap, not a resident set that moves with the machine. The store is real sled on disk,
//! with hookflow's settings.

mod counting_alloc;

use counting_alloc::LIVE;
use std::sync::atomic::Ordering;

/// A value the size of a contacts search block (`store::contacts::packed`).
const VALUE: usize = 16 << 10;
/// Values written: 64 MiB, in leaves of 9–16 values, nearly all over the blob threshold.
const VALUES: usize = 4_000;
/// `serve`'s default `--cache` (sled gets a third of it).
const CACHE: u64 = 32 << 20;
/// Most heap the reopened store may hold after one pass over every value: 11.8 MiB measured;
/// about 70 MiB before the patch (every leaf read stayed cached).
const MOST_HELD: usize = 20 << 20;

#[test]
fn nodes_written_as_blobs_leave_the_cache_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let config = || hookflow::store::sled_config(dir.path(), CACHE);
    {
        let db = config().open().unwrap();
        let tree = db.open_tree("contacts_index").unwrap();
        for i in 0..VALUES {
            let value = vec![(i % 251) as u8; VALUE];
            tree.insert(format!("p{i:08}"), value).unwrap();
        }
        db.flush().unwrap();
    }
    let blobs = std::fs::read_dir(dir.path().join("blobs")).unwrap().count();
    assert!(blobs > 100, "only {blobs} nodes were written as blobs");

    let before = LIVE.load(Ordering::Relaxed);
    let db = hookflow::store::open_when_free(&config()).unwrap();
    let tree = db.open_tree("contacts_index").unwrap();
    // One pass over every value, as a name search that matches nothing reads every block.
    let mut read = 0;
    for item in tree.iter() {
        let (_, value) = item.unwrap();
        read += value.len();
    }
    assert_eq!(read, VALUES * VALUE, "every value reads back");
    // An evicted node is freed once no reader can still hold it (crossbeam-epoch): later
    // operations collect it, as a serving store's do.
    for _ in 0..20_000 {
        tree.get("p00000000").unwrap();
    }
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    counting_alloc::assert_held_at_most(
        held,
        MOST_HELD,
        &format!(
            "after one pass over {} MiB of values in {blobs} blobs, the store",
            read >> 20
        ),
        "nodes written as blobs not evicted?",
    );
}
