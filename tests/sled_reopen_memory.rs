//! What sled (`vendor/sled`) holds once a store is opened again: its page table has an entry
//! for every page of every tree, cached or not, so a big store's open costs memory in
//! proportion to its pages (a million contacts are some 540,000 pages). Two patches keep that
//! to what the pages need: each page's list of fragments is exactly as long as it is (pushed
//! one by one it took room for 4 or 8), and the snapshot the table is built from is read without
//! spare capacity and freed in pieces as the table is built.
//!
//! This binary counts every allocation (its own global allocator), so the figures are exact
//! bytes of heap, not a resident set that moves with the machine. The store is real sled on
//! disk, filled in random key order as the contact indexes are (emails, phones), so most pages
//! carry several fragments when it is closed.

mod counting_alloc;

use counting_alloc::{LIVE, PEAK};
use std::sync::atomic::Ordering;

/// Keys written: enough pages (about 20,000) that per-page bytes dwarf sled's fixed ones.
const KEYS: u64 = 200_000;

/// Bytes a key an open may hold beyond an empty store's: 19.8–20.5 measured; 29.2 before the
/// patches.
const HELD_PER_KEY: f64 = 25.0;
/// Bytes a key an open may hold at its peak beyond an empty store's: 25.2–25.8 measured; 52.5
/// before the patches (the snapshot's table with up to half of it spare, and every page's
/// state, held until the whole page table was built).
const PEAK_PER_KEY: f64 = 38.0;

/// Bytes a key the open may hold for a moment beyond what it keeps: 1.2–1.3 measured; 5.2–5.3
/// while the snapshot's page states were held whole until every page was in (at a million
/// contacts 35 MiB over the page table's 70, the peak of a restart).
const TRANSIENT_PER_KEY: f64 = 2.5;

/// A key in scrambled order (a bijection of `i`), shaped like a contact index entry.
fn key(i: u64) -> Vec<u8> {
    let scrambled = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    format!("e\0p{scrambled:016x}@clinic.example").into_bytes()
}

/// The store's own sled settings with `serve`'s default `--cache 32MiB`.
fn config(dir: &std::path::Path) -> sled::Config {
    hookflow::store::sled_config(dir, 32 << 20)
}

/// Fills a store in `dir` with `keys` keys, closes it, opens it once more (so that the
/// measured open starts from sled's snapshot, as a server's restart does, and sled's lazily
/// made statics exist), then opens it again and returns the heap bytes that open holds and the
/// most it held on the way, above what was held before it.
fn reopen(dir: &std::path::Path, keys: u64) -> (usize, usize) {
    {
        let db = config(dir).open().unwrap();
        let tree = db.open_tree("contacts_by_email").unwrap();
        for i in 0..keys {
            tree.insert(key(i), &b"01JD7Z5X9Q4R2M8N6P3T0V1W2Y"[..])
                .unwrap();
        }
        db.flush().unwrap();
    }
    drop(hookflow::store::open_when_free(&config(dir)).unwrap());

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let db = hookflow::store::open_when_free(&config(dir)).unwrap();
    let tree = db.open_tree("contacts_by_email").unwrap();
    let held = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(
        tree.len(),
        keys as usize,
        "every key is there after reopening"
    );
    (held, peak)
}

#[test]
fn a_reopened_store_holds_no_spare_room_per_page() {
    // What any open holds (the page table's first levels, log buffers), whatever the data.
    let (empty_held, empty_peak) = reopen(tempfile::tempdir().unwrap().path(), 0);
    let (held, peak) = reopen(tempfile::tempdir().unwrap().path(), KEYS);

    let per_key = |bytes: usize, empty: usize| (bytes - empty) as f64 / KEYS as f64;
    let (held_per_key, peak_per_key) = (per_key(held, empty_held), per_key(peak, empty_peak));
    eprintln!(
        "opening an empty store: {} KiB held, {} KiB at the peak; {KEYS} keys: {} KiB held \
         ({held_per_key:.1} B a key more), {} KiB at the peak ({peak_per_key:.1} B a key more)",
        empty_held >> 10,
        empty_peak >> 10,
        held >> 10,
        peak >> 10,
    );
    assert!(
        held_per_key <= HELD_PER_KEY,
        "{held_per_key:.1} B a key held after the open, more than {HELD_PER_KEY}"
    );
    assert!(
        peak_per_key <= PEAK_PER_KEY,
        "{peak_per_key:.1} B a key at the open's peak, more than {PEAK_PER_KEY}"
    );
    let transient = peak_per_key - held_per_key;
    assert!(
        transient <= TRANSIENT_PER_KEY,
        "the open held {transient:.1} B a key for a moment beyond what it keeps, more than \
         {TRANSIENT_PER_KEY}"
    );
}
