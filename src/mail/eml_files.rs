//! Outbox mode's files: each email as `{dir}/{id}.eml`, written under a temporary name and
//! renamed, so a crash never leaves half a file.
//!
//! A batch of emails is written by one thread of its own and made durable together: on Linux one
//! `syncfs` of the outbox's filesystem (one journal commit for the lot) after every file is in
//! place. An `fsync` each, from sixteen blocking-pool threads at a time, made the disk commit
//! once per file and cost about six context switches an email (`voluntary_ctxt_switches`
//! under sustained bookings). Elsewhere each file is synced before its rename, as before.

use super::transport::{built, SendError};
use crate::niceness::{run_lowered, Job};
use crate::store::outbox::OutboxRecord;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};

/// The one thread that makes and writes every `.eml` file, at the run worker's lower CPU
/// priority (see [`crate::niceness`]): under a burst of bookings, building the messages and
/// creating the files (ext4's inode allocation most of it) took CPU from the acknowledgements,
/// on the very runtime threads that answer requests. Started at the first batch; it lives as
/// long as the process.
fn writer() -> &'static mpsc::Sender<Job> {
    static WRITER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    WRITER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("hookflow-eml".into())
            .spawn(move || run_lowered("the .eml writer", queue));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the thread that writes .eml files");
        }
        jobs
    })
}

/// Writes each record's message as `{dir}/{id}.eml`; the results are in the order given, and
/// an `Ok` file is on disk. A record whose message cannot be built fails alone, for good.
pub async fn write_all(dir: &Path, records: Vec<OutboxRecord>) -> Vec<Result<PathBuf, SendError>> {
    let n = records.len();
    let dir = dir.to_path_buf();
    let (done, written) = tokio::sync::oneshot::channel();
    let job = move || {
        let made = std::panic::catch_unwind(|| build_and_write(&dir, &records));
        let _ = done.send(made.unwrap_or_else(|_| failed(n, "panicked")));
    };
    if writer().send(Box::new(job)).is_err() {
        return failed(n, "is not running");
    }
    written.await.unwrap_or_else(|_| failed(n, "stopped"))
}

/// [`write_all`] on the writer thread.
fn build_and_write(dir: &Path, records: &[OutboxRecord]) -> Vec<Result<PathBuf, SendError>> {
    let mut results = Vec::with_capacity(records.len());
    let mut files = Vec::with_capacity(records.len());
    for record in records {
        match built(record) {
            Ok(message) => {
                files.push((record.id.clone(), message.formatted()));
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let mut written = match files.is_empty() {
        true => Vec::new(),
        false => write_all_now(dir, &files),
    }
    .into_iter();
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| written.next().expect("one result a file")))
        .collect()
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
    use crate::store::outbox::OutboxState;
    use crate::store::test_fixtures::outbox_record;

    #[tokio::test]
    async fn a_batch_is_written_in_order_and_a_record_that_cannot_be_built_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mut unbuildable = outbox_record("01B", OutboxState::Queued);
        unbuildable.to = "not an address".into();
        let records = vec![
            outbox_record("01A", OutboxState::Queued),
            unbuildable,
            outbox_record("01C", OutboxState::Queued),
            outbox_record("../escape", OutboxState::Queued),
        ];
        let written = write_all(&outbox, records).await;
        assert_eq!(written[0].as_ref().unwrap(), &outbox.join("01A.eml"));
        let bad = written[1].as_ref().unwrap_err();
        assert!(
            bad.permanent && bad.message.contains("not an address"),
            "{bad:?}"
        );
        assert_eq!(written[2].as_ref().unwrap(), &outbox.join("01C.eml"));
        assert!(written[3].as_ref().unwrap_err().permanent);
        let eml = std::fs::read_to_string(outbox.join("01C.eml")).unwrap();
        assert!(
            eml.contains("To: jane@example.com") && eml.contains("Hello"),
            "{eml}"
        );
        let mut names: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["01A.eml", "01C.eml"], "no temporary file is left");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_files_are_written_by_a_thread_of_lower_priority_than_the_callers() {
        use crate::niceness::{this_thread_nice, WORKER_NICE};
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), vec![outbox_record("01A", OutboxState::Queued)]).await;
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
