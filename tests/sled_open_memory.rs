//! The heap an open, nearly empty store holds (`vendor/sled`, hookflow's settings). Published
//! sled allocates and zeroes 65,536 buckets (512 KiB) for each of the ~40 histograms of its
//! process-wide metrics as the first store opens, even when its `no_metrics` feature (on by
//! default, as here) leaves them unused: 20.5 MiB of resident memory that never held a figure,
//! about a sixth of hookflow's peak under sustained bookings. The patched sled leaves them empty.
//!
//! This binary counts every allocation (its own global allocator), so the figure is exact bytes
//! of heap. It must be the only test here: sled's metrics are made once a process.

mod counting_alloc;

use counting_alloc::LIVE;
use std::sync::atomic::Ordering;

/// Most heap an open store with one small record may hold: 6.7 MiB measured (most of it the
/// page table's first level and the log's segment buffer); 27.2 MiB before the patch.
const MOST_HELD: usize = 12 << 20;

#[test]
fn an_open_store_holds_no_buffers_for_metrics_it_never_measures() {
    let dir = tempfile::tempdir().unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    let db = hookflow::store::sled_config(dir.path(), 32 << 20)
        .open()
        .unwrap();
    let tree = db.open_tree("requests").unwrap();
    tree.insert("a", "booking").unwrap();
    db.flush().unwrap();
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    counting_alloc::assert_held_at_most(
        held,
        MOST_HELD,
        "an open store with one record",
        "sled's unused metrics histograms allocated again?",
    );
    assert_eq!(tree.get("a").unwrap().as_deref(), Some(&b"booking"[..]));
}
