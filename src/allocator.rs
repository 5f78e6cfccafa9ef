//! mimalloc's settings (the binary's allocator, `src/main.rs`). Each can still be set from the
//! environment (`MIMALLOC_…`), which wins.
//!
//! - Freed memory goes back to the system at once. mimalloc keeps it for a while
//!   (`purge_delay`, 1 s in mimalloc 3); under load that is MiBs of peak RSS that hold nothing.
//!   Side by side on the 2-core box: draft load 60–64 → 47–50 MiB peak for 102–117 → 109–130 µs
//!   of CPU a request; sustained bookings 111–144 → 89–116 MiB for about the same CPU a booking.
//! - A free never takes an abandoned page over (`page_reclaim_on_free` −1). mimalloc 3 gives up
//!   ("abandons") full pages of a thread, and by default a thread freeing into one of its own
//!   abandoned pages takes it back; here most records are freed by another thread than the one
//!   that made them (a request by the committer, a run's records by sled's threads), so pages
//!   passed back and forth, half used, across twenty thread heaps (1,000 of 1,200 pages were
//!   abandoned at the end of a sustained run). Left abandoned, they are reused by the next
//!   thread that allocates in that size class. Side by side (2026-12-03 night): sustained peak
//!   102.9–104.0 against 111.3–114.8 MiB, draft 48.7–50.0 against 51.7–51.9 MiB, the booking
//!   load 70.6–74.9 against 86.8–87.2 MiB, the same CPU within the VM's spread. Reclaiming on
//!   every free (1) instead peaked at 349 MiB.

use std::ffi::{c_int, c_long};

// Links mimalloc where the library is used without the binary (its own tests).
extern crate mimalloc as _;

extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
}

/// An option of mimalloc 3's `mi_option_e` (the version `Cargo.toml` builds; libmimalloc-sys
/// names no constants), the environment variable that overrides it, and hookflow's value.
struct Setting {
    option: c_int,
    env: &'static str,
    value: c_long,
}

/// `mi_option_purge_delay`: 0, purge at once.
const PURGE_DELAY: Setting = Setting {
    option: 15,
    env: "MIMALLOC_PURGE_DELAY",
    value: 0,
};

/// `mi_option_page_reclaim_on_free` (mimalloc 3): −1, never on a free.
const PAGE_RECLAIM_ON_FREE: Setting = Setting {
    option: 35,
    env: "MIMALLOC_PAGE_RECLAIM_ON_FREE",
    value: -1,
};

/// Applies hookflow's settings, each unless the environment sets it. Call before the first
/// allocation that matters (first thing in `main`).
pub fn apply_settings() {
    for setting in [PURGE_DELAY, PAGE_RECLAIM_ON_FREE] {
        if std::env::var_os(setting.env).is_none() {
            // SAFETY: mimalloc's documented option setter; it takes any option number and value.
            unsafe { mi_option_set(setting.option, setting.value) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
    }

    impl Setting {
        /// The option's value in mimalloc now.
        fn current(&self) -> c_long {
            // SAFETY: mimalloc's documented option getter.
            unsafe { mi_option_get(self.option) }
        }
    }

    #[test]
    fn settings_differ_from_mimallocs_defaults_once_applied() {
        assert!(std::env::var_os(PURGE_DELAY.env).is_none());
        assert!(std::env::var_os(PAGE_RECLAIM_ON_FREE.env).is_none());
        assert_ne!(
            PURGE_DELAY.current(),
            0,
            "mimalloc's own default delays purging"
        );
        assert_eq!(
            PAGE_RECLAIM_ON_FREE.current(),
            0,
            "mimalloc 3's own default"
        );
        apply_settings();
        assert_eq!(PURGE_DELAY.current(), 0);
        assert_eq!(PAGE_RECLAIM_ON_FREE.current(), -1);
    }
}
