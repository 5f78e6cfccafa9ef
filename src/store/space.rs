//! The free-space reserve: new requests stop before the disk is full, not at it.
//!
//! sled 0.34 keeps the first write error of its log (a full disk, `ENOSPC`) as a Db-wide
//! error and answers every later call with it until the process restarts: there is no way to
//! clear it in-process. So hookflow does not let sled meet a full disk through its own new
//! work: below [`RESERVE`] free bytes on the data dir's filesystem, accepted and rejected
//! requests are not written (a 503 `store_unavailable`), while the reserve leaves room for the
//! runs and emails of requests already acknowledged. Once space is freed, the next request is
//! written as usual.

use std::path::Path;

/// Free bytes kept for the work of acknowledged requests and sled's own housekeeping.
pub const RESERVE: u64 = 8 * 1024 * 1024;

/// `Err(StorageFull)` when the filesystem of `dir` has less than [`RESERVE`] free (an error
/// reading it counts as enough: a write then says what is wrong).
pub(crate) fn check(dir: &Path) -> std::io::Result<()> {
    match fs2::available_space(dir) {
        Ok(free) if free < RESERVE => Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!(
                "the disk of {} has {} KiB free, below the {} MiB kept in reserve",
                dir.display(),
                free / 1024,
                RESERVE / (1024 * 1024)
            ),
        )),
        _ => Ok(()),
    }
}
