//! Outbox mode's files: each email as `{dir}/{id}.eml`, written under a temporary name and
//! renamed, so a crash never leaves half a file.
//!
//! A batch of emails is written by one blocking task and made durable together: on Linux one
//! `syncfs` of the outbox's filesystem (one journal commit for the lot) after every file is in
//! place. An `fsync` each, from sixteen blocking-pool threads at a time, made the disk commit
//! once per file and cost about six context switches an email (`voluntary_ctxt_switches`
//! under sustained bookings). Elsewhere each file is synced before its rename, as before.

use super::transport::SendError;
use std::path::{Path, PathBuf};

/// Writes each `(id, bytes)` as `{dir}/{id}.eml`; the results are in the order given, and an
/// `Ok` file is on disk.
pub async fn write_all(
    dir: &Path,
    files: Vec<(String, Vec<u8>)>,
) -> Vec<Result<PathBuf, SendError>> {
    let n = files.len();
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || write_all_now(&dir, &files))
        .await
        .unwrap_or_else(|e| {
            let failed = SendError {
                permanent: false,
                message: format!("the task writing the .eml files failed: {e}"),
            };
            vec![Err(failed); n]
        })
}

fn write_all_now(dir: &Path, files: &[(String, Vec<u8>)]) -> Vec<Result<PathBuf, SendError>> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        let failed = io("create the outbox dir", dir, e);
        return vec![Err(failed); files.len()];
    }
    let mut written: Vec<_> = files
        .iter()
        .map(|(id, bytes)| write_one(dir, id, bytes))
        .collect();
    if let Err(e) = sync_together(dir) {
        let failed = io("sync the outbox dir", dir, e);
        for result in written.iter_mut().filter(|r| r.is_ok()) {
            *result = Err(failed.clone());
        }
    }
    written
}

fn write_one(dir: &Path, id: &str, bytes: &[u8]) -> Result<PathBuf, SendError> {
    use std::io::Write;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SendError {
            permanent: true,
            message: format!("email id {id:?} cannot be a file name (expected a ULID)"),
        });
    }
    let path = dir.join(format!("{id}.eml"));
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
    file.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
    if !cfg!(target_os = "linux") {
        file.sync_all().map_err(|e| io("sync", &tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| io("rename to", &path, e))?;
    Ok(path)
}

/// Puts every file written above, and the renames, on disk at once.
#[cfg(target_os = "linux")]
fn sync_together(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let handle = std::fs::File::open(dir)?;
    // SAFETY: `syncfs` takes any open descriptor of the filesystem; `handle` outlives the call.
    if unsafe { libc::syncfs(handle.as_raw_fd()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Each file was synced before its rename; the directory holds the renames.
#[cfg(not(target_os = "linux"))]
fn sync_together(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn io(what: &str, path: &Path, e: std::io::Error) -> SendError {
    SendError {
        permanent: false,
        message: format!("cannot {what} {}: {e}", path.display()),
    }
}
