//! Backups: the whole store as one file, and a new data dir made from one.
//!
//! A backup is a gzip stream of a header line, `hookflow-backup 1 hookflow=VERSION`, sled's id
//! counter (`I` next id: the run queue's sequence numbers come from it), then every sled tree in
//! name order (`T` name), each followed by its records (`R` key value, both length-prefixed),
//! and an end record (`E` trees records) that says how many of each came before.
//! gzip's own CRC catches a changed byte; the end record catches a file cut at a record boundary.
//! Restore checks both before the new data dir appears: it is built beside its final name and
//! renamed into place only when complete, so a bad file leaves nothing behind.
//!
//! Consistency: sled 0.34 has no snapshots and its iterators read each tree live (and a
//! transaction would hold sled's global write lock for the whole export). So the backup pauses
//! the group commit instead: no accepted request is written while it reads (requests arriving
//! meanwhile wait, and answer 503 if it takes longer than the intake's 10 s flush deadline),
//! and it begins with a flush. Every request acknowledged before it began is in it whole, with
//! its hook id, reference, items, queue entries and counters; none that came later is in it in
//! part. What still changes while it reads: runs' steps (with the contacts, timers and outbox
//! rows they write), email states, rejected requests, hook ids of new workflows. Such work in
//! flight may be in the backup only in part: after a restore, a run may repeat or skip that
//! one step. A restored store starts like one after a crash: queued runs start, unfinished ones
//! resume, unconfirmed emails are retried. Restore writes the control file of the new data dir
//! (see [`super::control`]) from the restored store.

mod loader;

pub(crate) use loader::Loader;

use super::{Store, StoreError};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The backup format this build writes and reads.
pub const FORMAT: u32 = 1;
const MAGIC: &str = "hookflow-backup";
/// Longest key or value a backup may hold (sled's own limit is lower in practice).
const MAX_LEN: u32 = 1 << 30;

/// What a backup holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// sled trees.
    pub trees: u64,
    /// Records across all trees.
    pub records: u64,
}

/// Why a backup could not be written or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed while it was read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the backup, or creating the new data dir, failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The target data dir already holds something.
    #[error("{0} is not empty; restore makes a new data dir: pass a new or empty --data DIR")]
    NotEmpty(PathBuf),
    /// The file is not a hookflow backup, or a damaged one.
    #[error("{0}")]
    Bad(String),
}

impl From<sled::Error> for BackupError {
    fn from(e: sled::Error) -> Self {
        Self::Store(StoreError::Sled(e))
    }
}

impl Store {
    /// Writes every tree of the store to `out` as a backup (see the module comment for what it
    /// holds while writes continue).
    pub fn backup(&self, out: impl Write) -> Result<Summary, BackupError> {
        let _paused = self.commit.pause();
        self.flush_now()?;
        let mut gz = GzEncoder::new(out, Compression::fast());
        writeln!(
            gz,
            "{MAGIC} {FORMAT} hookflow={}",
            env!("CARGO_PKG_VERSION")
        )?;
        // Every id handed out so far is below this one.
        gz.write_all(b"I")?;
        gz.write_all(&self.db.generate_id()?.to_be_bytes())?;
        let mut names = self.db.tree_names();
        names.sort();
        let mut summary = Summary::default();
        for name in names {
            let tree = self.db.open_tree(&name)?;
            gz.write_all(b"T")?;
            write_field(&mut gz, &name)?;
            summary.trees += 1;
            for kv in tree.iter() {
                let (k, v) = kv?;
                gz.write_all(b"R")?;
                write_field(&mut gz, &k)?;
                write_field(&mut gz, &v)?;
                summary.records += 1;
            }
        }
        gz.write_all(b"E")?;
        gz.write_all(&summary.trees.to_be_bytes())?;
        gz.write_all(&summary.records.to_be_bytes())?;
        gz.finish()?.flush()?;
        Ok(summary)
    }
}

/// Makes a new data dir at `dir` from the backup in `input`. `dir` must not exist or be empty;
/// on any error nothing is left behind.
pub fn restore(input: impl Read, dir: &Path) -> Result<Summary, BackupError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(BackupError::NotEmpty(dir.to_path_buf()));
    }
    let name = dir
        .file_name()
        .ok_or_else(|| BackupError::Bad(format!("{} names no directory", dir.display())))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    let building = parent.join(format!(
        ".{}.restoring-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&building);
    let result = restore_into(input, &building).and_then(|summary| {
        if dir.exists() {
            std::fs::remove_dir(dir)?;
        }
        std::fs::rename(&building, dir)?;
        Ok(summary)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    result
}

fn restore_into(input: impl Read, dir: &Path) -> Result<Summary, BackupError> {
    std::fs::create_dir_all(dir)?;
    let db = super::sled_config(&dir.join("sled"), super::DEFAULT_CACHE).open()?;
    let mut loader = Loader::new(db);
    let summary = read_backup(input, |item| {
        match item {
            Item::NextId(next) => loader.next_id(next)?,
            Item::Tree(name) => loader.tree(&name)?,
            Item::Record(k, v) => {
                if !loader.record(k, v)? {
                    return Err(damaged("a record before any tree"));
                }
            }
        }
        Ok(())
    })?;
    let db = loader.finish()?;
    // The restored store is whole by definition: its control file says what it holds.
    let acked = super::control::Acked::read(&db.open_tree("meta")?)?;
    db.flush()?;
    drop(db);
    super::control::write_file(dir, &acked)?;
    Ok(summary)
}

/// Reads a whole backup without writing anything: what `hookflow backup` checks before it
/// calls a file done.
pub fn verify(input: impl Read) -> Result<Summary, BackupError> {
    read_backup(input, |_| Ok(()))
}

/// One piece of a backup, in file order.
enum Item {
    NextId(u64),
    Tree(Vec<u8>),
    Record(Vec<u8>, Vec<u8>),
}

/// Reads and checks a backup, handing each piece to `sink`; the end record and gzip's CRC are
/// checked before it returns.
fn read_backup(
    input: impl Read,
    mut sink: impl FnMut(Item) -> Result<(), BackupError>,
) -> Result<Summary, BackupError> {
    let mut raw = BufReader::new(input);
    // gzip's magic bytes first, so a file of another kind is named as such, not as cut short.
    if !raw.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        return Err(not_a_backup("it is not gzip"));
    }
    let mut r = BufReader::new(GzDecoder::new(raw));
    read_header(&mut r)?;
    let mut summary = Summary::default();
    loop {
        match read_tag(&mut r)? {
            b'I' => sink(Item::NextId(u64::from_be_bytes(read_array(&mut r)?)))?,
            b'T' => {
                summary.trees += 1;
                sink(Item::Tree(read_field(&mut r)?))?;
            }
            b'R' => {
                summary.records += 1;
                sink(Item::Record(read_field(&mut r)?, read_field(&mut r)?))?;
            }
            b'E' => {
                let trees = u64::from_be_bytes(read_array(&mut r)?);
                let records = u64::from_be_bytes(read_array(&mut r)?);
                if (trees, records) != (summary.trees, summary.records) {
                    return Err(damaged(&format!(
                        "it says {trees} trees and {records} records, but holds {} and {}",
                        summary.trees, summary.records
                    )));
                }
                // Reading to the end checks gzip's CRC and length.
                let mut rest = Vec::new();
                r.read_to_end(&mut rest).map_err(read_error)?;
                if !rest.is_empty() {
                    return Err(damaged("bytes after its end record"));
                }
                return Ok(summary);
            }
            other => return Err(damaged(&format!("an unknown record tag {other:#04x}"))),
        }
    }
}

fn not_a_backup(why: &str) -> BackupError {
    BackupError::Bad(format!(
        "not a hookflow backup ({why}); `hookflow backup FILE` writes one"
    ))
}

fn read_header(r: &mut impl BufRead) -> Result<(), BackupError> {
    let mut line = Vec::new();
    r.by_ref()
        .take(200)
        .read_until(b'\n', &mut line)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                not_a_backup("it is not gzip")
            }
            _ => read_error(e),
        })?;
    let line = String::from_utf8_lossy(&line);
    let mut words = line.split_whitespace();
    if words.next() != Some(MAGIC) {
        return Err(not_a_backup("it does not start with `hookflow-backup`"));
    }
    match words.next().and_then(|v| v.parse::<u32>().ok()) {
        Some(FORMAT) => Ok(()),
        Some(v) => Err(BackupError::Bad(format!(
            "backup format {v} is not one this hookflow ({}) reads (format {FORMAT}); restore \
             it with the hookflow version that wrote it ({})",
            env!("CARGO_PKG_VERSION"),
            words.next().unwrap_or("unknown")
        ))),
        None => Err(damaged("a header without a format number")),
    }
}

fn write_field(w: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&(bytes.len() as u32).to_be_bytes())?;
    w.write_all(bytes)
}

fn read_tag(r: &mut impl Read) -> Result<u8, BackupError> {
    Ok(read_array::<1>(r)?[0])
}

fn read_array<const N: usize>(r: &mut impl Read) -> Result<[u8; N], BackupError> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf).map_err(read_error)?;
    Ok(buf)
}

fn read_field(r: &mut impl Read) -> Result<Vec<u8>, BackupError> {
    let len = u32::from_be_bytes(read_array(r)?);
    if len > MAX_LEN {
        return Err(damaged(&format!("a field of {len} bytes")));
    }
    let mut buf = Vec::new();
    r.take(u64::from(len))
        .read_to_end(&mut buf)
        .map_err(read_error)?;
    if buf.len() != len as usize {
        return Err(truncated());
    }
    Ok(buf)
}

fn read_error(e: std::io::Error) -> BackupError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => truncated(),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
            damaged(&format!("its compressed data does not decode ({e})"))
        }
        _ => BackupError::Io(e),
    }
}

fn truncated() -> BackupError {
    BackupError::Bad(
        "the backup is truncated (it ends before its end record); nothing was restored: use a \
         complete copy"
            .into(),
    )
}

fn damaged(what: &str) -> BackupError {
    BackupError::Bad(format!(
        "the backup is damaged: {what}; nothing was restored: use another copy"
    ))
}

#[cfg(test)]
mod tests;
