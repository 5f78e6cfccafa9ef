//! What sled (`vendor/sled`) holds while a thread of its own flushes, as hookflow's syncer does:
//! every flush seals the log buffer in use, and each sealed buffer keeps its segment's 512 KiB
//! of memory until crossbeam-epoch runs its deferred drop. Published sled left that drop in the
//! sealing thread's bag of deferred work until 64 had gathered, and a thread that flushes but
//! writes nothing else fills its bag only with those: at the peak of sustained bookings the
//! server held 41 such buffers (21.5 MiB). The patched sled hands each one to the global queue
//! at once, as it already did for the buffers it writes.
//!
//! The patched sled also keeps two segment buffers given back for the next segments: each new
//! 512 KiB buffer was memory the allocator had returned to the system, faulted in and zeroed
//! by the kernel page by page as the log filled it.
//!
//! This binary counts every allocation (its own global allocator), so the figures are exact
//! bytes of heap and exact counts. The store is real sled on disk, with hookflow's settings.

mod counting_alloc;

use counting_alloc::{LIVE, SEGMENT_BUFFERS};
use std::sync::atomic::Ordering;
use std::sync::mpsc;

/// Rounds of a write and a flush on another thread.
const ROUNDS: usize = 300;
/// Two values a round, a segment every two or three rounds (under sled's 128 KiB blob size).
/// The same two keys every round, so that the tree itself stays small.
const VALUE: usize = 100 * 1024;
/// Most heap the rounds may add above what the store held before them: 1.3–1.4 MiB measured
/// (two spare segment buffers of it); 15.6–16.5 MiB before the patch (about 32 sealed
/// segments' buffers).
const MOST_ADDED: usize = 6 << 20;
/// Segment buffers the rounds may allocate: 1 measured; one a segment (108) before the patch.
const MOST_SEGMENT_BUFFERS: usize = 8;

#[test]
fn writes_flushed_by_another_thread_neither_keep_sealed_buffers_nor_take_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = hookflow::store::sled_config(dir.path(), 32 << 20)
        .open()
        .unwrap();
    let tree = db.open_tree("requests").unwrap();
    tree.insert("warm", vec![1u8; VALUE]).unwrap();
    db.flush().unwrap();

    let (flush, flushes) = mpsc::sync_channel::<()>(0);
    let (flushed, done) = mpsc::sync_channel::<()>(0);
    let syncer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for () in flushes {
                db.flush().unwrap();
                flushed.send(()).unwrap();
            }
        })
    };
    let before = LIVE.load(Ordering::Relaxed);
    let buffers_before = SEGMENT_BUFFERS.load(Ordering::Relaxed);
    let mut most = 0;
    for round in 0..ROUNDS {
        for half in 0..2 {
            tree.insert([half], vec![round as u8; VALUE]).unwrap();
        }
        flush.send(()).unwrap();
        done.recv().unwrap();
        most = most.max(LIVE.load(Ordering::Relaxed).saturating_sub(before));
    }
    drop(flush);
    syncer.join().unwrap();
    let buffers = SEGMENT_BUFFERS.load(Ordering::Relaxed) - buffers_before;

    eprintln!(
        "{ROUNDS} rounds of two {} KiB writes and a flush on another thread: at most {} KiB \
         more heap than before them; {buffers} segment buffers allocated",
        VALUE >> 10,
        most >> 10
    );
    assert!(
        most <= MOST_ADDED,
        "the rounds held up to {} KiB more heap, more than {} KiB: sealed log buffers kept",
        most >> 10,
        MOST_ADDED >> 10
    );
    assert!(
        buffers <= MOST_SEGMENT_BUFFERS,
        "{buffers} segment buffers allocated for about {} segments of log, more than \
         {MOST_SEGMENT_BUFFERS}: given back buffers not reused",
        ROUNDS * 2 * VALUE / (512 * 1024)
    );
    assert_eq!(
        tree.get([1u8]).unwrap().as_deref(),
        Some(&vec![43u8; VALUE][..]),
        "the last value reads back"
    );
}
