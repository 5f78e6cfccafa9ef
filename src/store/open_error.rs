//! What hookflow says when sled cannot open a data dir: one message with the path, the cause in
//! words and the way back (a restore from a backup), never sled's backtrace text or a panic.

use super::StoreError;
use std::path::Path;

/// Creates the data dir `dir` if needed and opens sled in `dir/sled` with `config` (its path
/// set here), turning every failure but a lock into [`StoreError::Unreadable`]. sled 0.34 panics
/// on some damaged files; that is caught here and reported the same way.
pub(super) fn open_sled(dir: &Path, config: sled::Config) -> Result<sled::Db, StoreError> {
    prepare_dir(dir)?;
    let config = config.path(dir.join("sled"));
    // The caller holds the data dir's lock, so a sled lock can only be this process's own store
    // closing: wait for it.
    match catch_panic(|| open_when_free(&config)) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) if is_lock(&e) => Err(StoreError::Locked),
        Ok(Err(e)) => Err(unreadable(dir, &reason(&e))),
        Err(panic) => Err(unreadable(
            dir,
            &format!("its sled files are damaged (sled stopped: {panic})"),
        )),
    }
}

/// Creates the data dir `dir` if needed; refuses sled's own folder, a file, or a dir hookflow
/// may not write, with the reason in words.
pub(super) fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.join("conf").is_file() && dir.join("db").is_file() {
        return Err(unreadable(
            dir,
            "it is sled's own folder, not a data dir: pass the folder that contains it",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::PermissionDenied => permission_denied(),
            _ if dir.exists() && !dir.is_dir() => "it is a file, not a directory".into(),
            _ => e.to_string(),
        };
        unreadable(dir, &why)
    })
}

/// Opens `config`'s store, waiting up to 5 s while its lock is held: sled's I/O threads let go
/// of a closed store's file a moment after its last handle drops (a buffer written without
/// waiting for it still holds the file), so a store closed and opened again in one process can
/// find it locked. Public for tests that reopen a store.
pub fn open_when_free(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match config.open() {
            Err(e) if is_lock(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn is_lock(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock")
        }
        _ => false,
    }
}

fn reason(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            permission_denied()
        }
        sled::Error::Io(io) => format!("{io}"),
        sled::Error::Corruption { .. } => "its sled files are damaged (corrupt data)".into(),
        // sled says "created using a sled version earlier than 0.29" for a damaged `conf`,
        // which sends the reader the wrong way.
        sled::Error::Unsupported(_) => {
            "its sled files are damaged or were not written by hookflow".into()
        }
        other => format!("sled: {other}"),
    }
}

fn permission_denied() -> String {
    "permission denied: the user running hookflow must be able to read and write it".into()
}

pub(super) fn unreadable(dir: &Path, reason: &str) -> StoreError {
    StoreError::Unreadable {
        dir: dir.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Runs `f`, turning a panic into its message without printing it (sled's panics carry
/// backtraces and `RUST_BACKTRACE` noise that would bury the one line the user needs).
fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(quiet);
    result.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}
