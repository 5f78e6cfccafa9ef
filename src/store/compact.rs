//! Compaction. sled 0.34 reuses little of the space its log leaves behind: every update and
//! delete leaves an old page version in a segment that sled rarely cleans (spacejam/sled#1333).
//! Measured with `scripts/retention.py`, a store whose live records stay flat under `--retain`
//! grows by as much as it writes. Compaction copies every live record into a new sled file
//! beside the old one and swaps the two, with no other process or thread writing: `hookflow
//! compact`, or `serve` restarting itself in place once the file has doubled (see
//! `app::compaction`).
//!
//! Crash safety: the copy is built in `sled.compacting`, flushed and synced, and only then
//! renamed `sled.compacted` (complete). Then `sled` becomes `sled.old`, `sled.compacted`
//! becomes `sled`, and `sled.old` is removed. [`recover`] runs before every open and finishes
//! or discards what a crash left, so any kill leaves the old store or the new one, never a mix.
//! The control file stays as it is: the copy holds the same records, meta included.

use super::backup::Loader;
use super::{open_error, sled_config, StoreError, StoreResult};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The meta key holding the sled file's size right after the last compaction.
const BASELINE: &[u8] = b"compacted_bytes";

/// What a compaction did.
#[derive(Debug, Clone)]
pub struct Compacted {
    /// sled's file before, in bytes.
    pub before: u64,
    /// sled's file after, in bytes.
    pub after: u64,
    /// Records copied (every tree).
    pub records: u64,
    /// What each tree holds, largest first: where a store's disk goes.
    pub trees: Vec<TreeSize>,
    /// How long the copy and the swap took.
    pub took: Duration,
}

/// The live records of one tree, as a compaction copied them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSize {
    pub name: String,
    pub records: u64,
    /// Keys and values (as stored: values compressed), without sled's own overhead.
    pub bytes: u64,
}

/// The sled folder of a data dir and the names it has during a compaction.
struct Folders {
    live: PathBuf,
    building: PathBuf,
    complete: PathBuf,
    old: PathBuf,
}

impl Folders {
    fn of(dir: &Path) -> Self {
        Self {
            live: dir.join("sled"),
            building: dir.join("sled.compacting"),
            complete: dir.join("sled.compacted"),
            old: dir.join("sled.old"),
        }
    }
}

/// Takes the data dir's lock (`DATA/lock`), held as long as the returned file is open: one
/// process at a time opens, compacts or repairs a data dir. Exec'ing drops it (close-on-exec).
pub(crate) fn lock(dir: &Path) -> StoreResult<File> {
    open_error::prepare_dir(dir)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(|e| open_error::unreadable(dir, &e.to_string()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked),
        Err(std::fs::TryLockError::Error(e)) => Err(open_error::unreadable(dir, &e.to_string())),
    }
}

/// Finishes or discards a compaction a crash interrupted (the caller holds the lock).
pub(crate) fn recover(dir: &Path) -> std::io::Result<()> {
    let f = Folders::of(dir);
    if f.building.exists() {
        tracing::warn!("discarding a compaction that did not finish");
        std::fs::remove_dir_all(&f.building)?;
    }
    if f.complete.exists() {
        tracing::warn!("finishing a compaction that a stop interrupted");
        if f.live.exists() {
            if f.old.exists() {
                std::fs::remove_dir_all(&f.old)?;
            }
            std::fs::rename(&f.live, &f.old)?;
        }
        std::fs::rename(&f.complete, &f.live)?;
        sync_dir(dir)?;
    }
    if f.old.exists() {
        if f.live.exists() {
            std::fs::remove_dir_all(&f.old)?;
        } else {
            std::fs::rename(&f.old, &f.live)?;
            sync_dir(dir)?;
        }
    }
    Ok(())
}

/// Size of the sled file of the data dir `dir` (0 when there is none).
pub fn file_bytes(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("sled").join("db")).map_or(0, |m| m.len())
}

impl super::Store {
    /// True when this store's file should be compacted (see [`due`]).
    pub fn compaction_due(&self, floor: u64) -> StoreResult<bool> {
        due(&self.dir, &self.trees.meta, floor)
    }
}

/// Takes the file's present size as the baseline of a store that has none (a new one, or one
/// made before compaction existed), so that opening a big store never starts a compaction that
/// would find nothing to reclaim: a store is compacted once it has doubled since.
pub(crate) fn keep_baseline(dir: &Path, meta: &sled::Tree) -> StoreResult<()> {
    let size = file_bytes(dir).to_be_bytes();
    meta.compare_and_swap(BASELINE, None as Option<&[u8]>, Some(&size[..]))?
        .ok();
    Ok(())
}

/// Runs `bulk`, which writes records that stay (a CSV import), makes them durable, and raises
/// the baseline by what sled's file grew meanwhile, so that only what is written afterwards counts
/// towards the doubling. Copying an import's records reclaims nothing: at the first check after
/// a million imported contacts the server paused 51 s to compact 1,427 MiB into 1,396, peaking
/// at 608 MiB. The growth of anything else written meanwhile is counted as live too, which only
/// puts the next compaction off.
pub fn growth_is_live<T>(store: &super::Store, bulk: impl FnOnce() -> T) -> StoreResult<T> {
    let before = file_bytes(&store.dir);
    let out = bulk();
    // Also after a failed import: the whole batches it applied stay.
    store.flush_now()?;
    let grown = file_bytes(&store.dir).saturating_sub(before);
    store.trees.meta.fetch_and_update(BASELINE, |old| {
        let old = old
            .and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        Some(old.saturating_add(grown).to_be_bytes().to_vec())
    })?;
    // Not flushed here: the next flush takes it along (the API's answer waits for one; the
    // CLI's local store flushes as it closes), and a crash before that only leaves the old
    // baseline, so at worst one compaction for nothing.
    Ok(out)
}

/// True when the sled file is above `floor` bytes and more than twice its size right after the
/// last compaction (plus what imports added since), or when the store was first opened
/// (`floor` 0: never).
pub fn due(dir: &Path, meta: &sled::Tree, floor: u64) -> StoreResult<bool> {
    if floor == 0 {
        return Ok(false);
    }
    let baseline = meta
        .get(BASELINE)?
        .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    let now = file_bytes(dir);
    Ok(now > floor && now > baseline.saturating_mul(2))
}

/// `StorageFull` unless the disk of `dir` has room for a copy as big as the whole sled file
/// (the live records are at most that) plus the free-space reserve.
pub fn room_for_copy(dir: &Path) -> StoreResult<()> {
    let needed = file_bytes(dir) + super::space::RESERVE;
    match fs2::available_space(dir) {
        Ok(free) if free < needed => Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!(
                "compacting {} needs up to {} MiB free for the copy; the disk has {} MiB",
                dir.display(),
                needed >> 20,
                free >> 20
            ),
        ))),
        _ => Ok(()),
    }
}

/// Compacts the store of the data dir `dir`, which no process may have open (else `Locked`).
pub fn compact(dir: &Path, cache_bytes: u64) -> StoreResult<Compacted> {
    let started = Instant::now();
    let _lock = lock(dir)?;
    recover(dir)?;
    room_for_copy(dir)?;
    let f = Folders::of(dir);
    let before = file_bytes(dir);
    let old = open_error::open_sled(dir, sled_config(&f.live, cache_bytes))?;
    let trees = copy(&old, &f.building, cache_bytes)?;
    // Closed before any rename: sled writes some files (snapshots, blobs) by path, and must
    // not write the old store's into the new folder. The data dir lock still keeps others out.
    drop(old);
    std::fs::rename(&f.building, &f.complete)?;
    sync_dir(dir)?;
    std::fs::rename(&f.live, &f.old)?;
    std::fs::rename(&f.complete, &f.live)?;
    sync_dir(dir)?;
    std::fs::remove_dir_all(&f.old)?;
    Ok(Compacted {
        before,
        after: file_bytes(dir),
        records: trees.iter().map(|t| t.records).sum(),
        trees,
        took: started.elapsed(),
    })
}

/// Copies every tree of `old` into a new sled db in `to`, records its size as the baseline of
/// the next compaction, and syncs it; returns what each tree held, largest first.
fn copy(old: &sled::Db, to: &Path, cache_bytes: u64) -> StoreResult<Vec<TreeSize>> {
    std::fs::create_dir_all(to)?;
    let mut loader = Loader::new(sled_config(to, cache_bytes).open()?);
    loader.next_id(old.generate_id()?)?;
    let mut names = old.tree_names();
    names.sort();
    let mut trees = Vec::with_capacity(names.len());
    for name in names {
        loader.tree(&name)?;
        let mut size = TreeSize {
            name: String::from_utf8_lossy(&name).into_owned(),
            records: 0,
            bytes: 0,
        };
        for kv in old.open_tree(&name)?.iter() {
            let (k, v) = kv?;
            size.records += 1;
            size.bytes += (k.len() + v.len()) as u64;
            loader.record(k.to_vec(), v.to_vec())?;
        }
        trees.push(size);
    }
    trees.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    let new = loader.finish()?;
    new.flush()?;
    let size = std::fs::metadata(to.join("db"))?.len();
    new.open_tree("meta")?
        .insert(BASELINE, &size.to_be_bytes())?;
    new.flush()?;
    drop(new);
    // sled's flush is not a full fsync: sync the file and its folder before calling it complete.
    File::open(to.join("db"))?.sync_all()?;
    sync_dir(to)?;
    Ok(trees)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
