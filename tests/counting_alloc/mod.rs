//! The system allocator, counting the bytes it holds and the most it held: a test binary that
//! includes this module (`mod counting_alloc;`) measures exact bytes of heap, not a resident
//! set that moves with the machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes it holds and the most it held.
struct Counting;

pub static LIVE: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Allocations of any size since the start (the number, not the bytes).
pub static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// Allocations of sled's log buffers (a 512 KiB segment, aligned to 8 KiB) since the start.
pub static SEGMENT_BUFFERS: AtomicUsize = AtomicUsize::new(0);

fn counted(layout: Layout) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    if layout.size() == 512 * 1024 && layout.align() == 8192 {
        SEGMENT_BUFFERS.fetch_add(1, Ordering::Relaxed);
    }
    grew(layout.size());
}

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call goes to `System` unchanged; only counters are updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            counted(layout);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            counted(layout);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Checks that `held` heap bytes are at most `most`, printing them first: `what` holds them, and
/// `hint` says what more would mean. (Not every test binary that counts uses it.)
#[allow(dead_code)]
pub fn assert_held_at_most(held: usize, most: usize, what: &str, hint: &str) {
    eprintln!(
        "{what} holds {:.1} MiB of heap",
        held as f64 / (1 << 20) as f64
    );
    assert!(
        held <= most,
        "{what} holds {} KiB of heap, more than {} KiB: {hint}",
        held >> 10,
        most >> 10
    );
}
