//! mimalloc's settings (the binary's allocator, `src/main.rs`).
//!
//! mimalloc keeps memory that was freed for a while (`purge_delay`, 1 s in mimalloc 3) before it
//! gives it back to the system; under load that is MiBs of peak RSS that hold nothing. Purging
//! at once, side by side on the 2-core box: draft load 60–64 → 47–50 MiB peak for 102–117 →
//! 109–130 µs of CPU a request; sustained bookings 111–144 → 89–116 MiB for about the same CPU
//! a booking. `MIMALLOC_PURGE_DELAY` in the environment still wins.

use std::ffi::{c_int, c_long};

// Links mimalloc where the library is used without the binary (its own tests).
extern crate mimalloc as _;

extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_option_get(option: c_int) -> c_long;
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the same in mimalloc 2 and 3;
/// libmimalloc-sys names no constant for it).
const PURGE_DELAY: c_int = 15;

/// Makes mimalloc give freed memory back to the system at once, unless
/// `MIMALLOC_PURGE_DELAY` says otherwise.
pub fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's documented option setter; it takes any option number and value.
        unsafe { mi_option_set(PURGE_DELAY, 0) }
    }
}

/// mimalloc's purge delay in milliseconds, as it is now.
pub fn purge_delay_ms() -> c_long {
    // SAFETY: mimalloc's documented option getter.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_is_purged_at_once_unless_the_environment_says_otherwise() {
        assert!(std::env::var_os("MIMALLOC_PURGE_DELAY").is_none());
        assert_ne!(purge_delay_ms(), 0, "mimalloc's own default delays purging");
        purge_freed_memory_at_once();
        assert_eq!(purge_delay_ms(), 0);
    }
}
