//! Outbox mode's files: each email as `{dir}/{id}.eml`, written under a temporary name and
//! renamed, so a crash never leaves half a file.
//!
//! A batch of emails is written by one thread of its own and made durable together: on Linux one
//! `syncfs` of the outbox's filesystem (one journal commit for the lot) after every file is in
//! place. An `fsync` each, from sixteen blocking-pool threads at a time, made the disk commit
//! once per file and cost about six context switches an email (`voluntary_ctxt_switches`
//! under sustained bookings). Elsewhere each file is synced before its rename, as before.

use super::transport::SendError;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};

/// Files to write, and where their results go.
struct Batch {
    dir: PathBuf,
    files: Vec<(String, Vec<u8>)>,
    done: tokio::sync::oneshot::Sender<Vec<Result<PathBuf, SendError>>>,
}

/// The one thread that writes every `.eml` file, at the run worker's lower CPU priority (see
/// [`crate::niceness`]): under a burst of bookings, creating the files (ext4's inode
/// allocation most of it) took CPU from the acknowledgements. Started at the first batch; it
/// lives as long as the process.
fn writer() -> &'static mpsc::Sender<Batch> {
    static WRITER: OnceLock<mpsc::Sender<Batch>> = OnceLock::new();
    WRITER.get_or_init(|| {
        let (batches, queue) = mpsc::channel::<Batch>();
        let spawned = std::thread::Builder::new()
            .name("hookflow-eml".into())
            .spawn(move || {
                if let Err(e) = crate::niceness::lower_this_thread(crate::niceness::WORKER_NICE) {
                    tracing::warn!(error = %e, "could not lower the .eml writer's CPU priority");
                }
                for Batch { dir, files, done } in queue {
                    let written = std::panic::catch_unwind(|| write_all_now(&dir, &files))
                        .unwrap_or_else(|_| failed(files.len(), "panicked"));
                    let _ = done.send(written);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the thread that writes .eml files");
        }
        batches
    })
}

/// Writes each `(id, bytes)` as `{dir}/{id}.eml`; the results are in the order given, and an
/// `Ok` file is on disk.
pub async fn write_all(
    dir: &Path,
    files: Vec<(String, Vec<u8>)>,
) -> Vec<Result<PathBuf, SendError>> {
    let n = files.len();
    let (done, written) = tokio::sync::oneshot::channel();
    let batch = Batch {
        dir: dir.to_path_buf(),
        files,
        done,
    };
    if writer().send(batch).is_err() {
        return failed(n, "is not running");
    }
    written.await.unwrap_or_else(|_| failed(n, "stopped"))
}

/// `n` retryable failures: the writer thread `how`.
fn failed(n: usize, how: &str) -> Vec<Result<PathBuf, SendError>> {
    let failed = SendError {
        permanent: false,
        message: format!("the thread writing the .eml files {how}"),
    };
    vec![Err(failed); n]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_is_written_in_order_and_a_bad_id_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let files = vec![
            ("01A".to_string(), b"first".to_vec()),
            ("../escape".to_string(), b"no".to_vec()),
            ("01B".to_string(), b"second".to_vec()),
        ];
        let written = write_all(&outbox, files).await;
        assert_eq!(written[0].as_ref().unwrap(), &outbox.join("01A.eml"));
        assert!(written[1].as_ref().unwrap_err().permanent);
        assert_eq!(std::fs::read(outbox.join("01B.eml")).unwrap(), b"second");
        let mut names: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["01A.eml", "01B.eml"], "no temporary file is left");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_files_are_written_by_a_thread_of_lower_priority_than_the_callers() {
        use crate::niceness::{this_thread_nice, WORKER_NICE};
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), vec![("01A".into(), b"x".to_vec())]).await;
        let writer_tid = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .map(|t| t.unwrap().path())
            .find(|t| std::fs::read_to_string(t.join("comm")).unwrap().trim() == "hookflow-eml")
            .expect("the writer thread runs");
        // Field 19 of /proc/…/stat is the nice value (after the command's closing parenthesis).
        let stat = std::fs::read_to_string(writer_tid.join("stat")).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let nice: i32 = after_comm.split(' ').nth(16).unwrap().parse().unwrap();
        let caller = this_thread_nice().unwrap();
        assert_eq!(nice, (caller + WORKER_NICE).min(19));
    }
}
