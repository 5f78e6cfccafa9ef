//! What sled (`vendor/sled`) holds while a thread of its own flushes, as hookflow's syncer does:
//! every flush seals the log buffer in use, and each sealed buffer keeps its segment's 512 KiB
//! of memory until crossbeam-epoch runs its deferred drop. Published sled left that drop in the
//! sealing thread's bag of deferred work until 64 had gathered, and a thread that flushes but
//! writes nothing else fills its bag only with those: at the peak of sustained bookings the
//! server held 41 such buffers (21.5 MiB). The patched sled hands each one to the global queue
//! at once, as it already did for the buffers it writes.
//!
//! This binary counts every allocation (its own global allocator), so the figure is exact bytes
//! of heap. The store is real sled on disk, with hookflow's settings.

mod counting_alloc;

use counting_alloc::LIVE;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

/// Rounds of a write and a flush on another thread.
const ROUNDS: usize = 300;
/// Two values a round, a segment every two or three rounds (under sled's 128 KiB blob size).
/// The same two keys every round, so that the tree itself stays small.
const VALUE: usize = 100 * 1024;
/// Most heap the rounds may add above what the store held before them: 0.8–0.9 MiB measured;
/// 15.6–16.5 MiB before the patch (about 32 sealed segments' buffers).
const MOST_ADDED: usize = 6 << 20;

#[test]
fn a_thread_that_only_flushes_does_not_keep_the_buffers_it_sealed() {
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

    eprintln!(
        "{ROUNDS} rounds of two {} KiB writes and a flush on another thread: at most {} KiB \
         more heap than before them",
        VALUE >> 10,
        most >> 10
    );
    assert!(
        most <= MOST_ADDED,
        "the rounds held up to {} KiB more heap, more than {} KiB: sealed log buffers kept",
        most >> 10,
        MOST_ADDED >> 10
    );
    assert_eq!(
        tree.get([1u8]).unwrap().as_deref(),
        Some(&vec![43u8; VALUE][..]),
        "the last value reads back"
    );
}
