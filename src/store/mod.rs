//! The sled store: one `Db` under the data dir, one tree per kind of record.
//!
//! Everything durable goes through here, and no other folder names sled: callers use the typed
//! functions of these modules, and a workflow step writes through [`step_tx::StepTx`] and stops
//! with [`step_tx::Abort`].

pub mod audit;
pub mod backup;
pub mod clock;
pub mod codec;
pub mod commit;
pub mod compact;
pub mod contacts;
pub(crate) mod control;
pub mod counts;
pub mod enrolments;
pub mod hooks;
mod index_tree;
mod ingest;
pub mod levels;
mod open_error;
pub use open_error::open_when_free;
pub mod outbox;
pub mod posting;
pub mod queue;
pub mod references;
pub(crate) mod request_index;
pub mod requests;
pub mod reset;
pub mod retention;
pub mod run_index;
pub mod runs;
#[cfg(test)]
mod sled_patches;
pub mod space;
pub mod step_tx;
#[cfg(test)]
pub(crate) mod test_fixtures;
pub mod timers;
pub mod txn;
pub mod versions;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually a running `hookflow serve`) holds the data dir.
    #[error("data dir in use; pass --server")]
    Locked,
    /// sled could not open the data dir: damaged files, permissions, not a data dir.
    #[error(
        "cannot open the data dir {dir}: {reason}.\n  If it is damaged, make a new data dir \
         from a backup: `hookflow restore FILE --data NEW_DIR`, then use --data NEW_DIR"
    )]
    Unreadable { dir: String, reason: String },
    /// The store holds less than its control file says was acknowledged (see [`control`]).
    #[error(
        "the data dir {dir} has lost data: {missing}.\n  Make a new data dir from a backup: \
         `hookflow restore FILE --data NEW_DIR`, then use --data NEW_DIR; or start anyway with \
         `hookflow serve --accept-data-loss` (what is missing stays lost)"
    )]
    Behind { dir: String, missing: String },
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record in {tree}: {message}")]
    Corrupt { tree: &'static str, message: String },
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// The shared flush did not finish within the caller's deadline.
    #[error("no flush within the deadline")]
    FlushTimeout,
}

/// The memory `--cache` allows sled's page cache when nothing else is asked (sled's own default
/// is 1 GiB).
pub const DEFAULT_CACHE: u64 = 32 * 1024 * 1024;

/// sled counts a cached page at its size on disk but holds it as a decoded node, about 2.4 times
/// that (heaptrack), so it gets a third of `--cache` and what it holds stays near `--cache`.
const SLED_CACHE_SHARE: u64 = 3;

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// sled's settings for the store in `sled_dir`. Records are stored uncompressed: with zstd
/// (level 1) a store took 2.3 times less disk, but importing 200,000 contacts took 49.6 s
/// instead of 11.5 s, a restart 10.6 s instead of 0.25 s (sled makes a zstd context for every
/// page fragment it reads) and peak RSS rose from 188 to 272 MiB. A store made compressed keeps
/// its setting (sled refuses to change it). Public for tests of sled itself.
pub fn sled_config(sled_dir: &Path, cache_bytes: u64) -> sled::Config {
    let made_compressed = std::fs::read(sled_dir.join("conf"))
        .map(|conf| String::from_utf8_lossy(&conf).contains("use_compression: true"))
        .unwrap_or(false);
    sled::Config::new()
        .path(sled_dir)
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(cache_bytes / SLED_CACHE_SHARE)
        .use_compression(made_compressed)
        .compression_factor(1)
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The open store, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: sled::Db,
    pub(crate) dir: PathBuf,
    pub(crate) trees: Arc<Trees>,
    pub(crate) commit: commit::GroupCommit,
    /// The contact trees (their own module owns the layout).
    pub contacts: Arc<contacts::ContactTrees>,
    /// The outbox trees (email rows, pending index, unsubscribe tokens).
    pub outbox: outbox::OutboxTrees,
    /// The index that bounds the rejected log.
    pub(crate) rejected: Arc<requests::RejectedLog>,
    /// The hook ids requests arrived on, answered without sled (see `hooks`).
    pub(crate) hook_cache: Arc<std::sync::RwLock<hooks::HookCache>>,
    /// The store's own compression dictionary ([`codec::Learning`]).
    pub(crate) learning: codec::Learning,
    /// The data dir's lock, held while any clone lives ([`compact::lock`]).
    _lock: Arc<std::fs::File>,
}

/// The trees of the store (contacts and runs add their own).
pub(crate) struct Trees {
    pub meta: sled::Tree,
    pub hooks: sled::Tree,
    pub hooks_by_id: sled::Tree,
    /// The request log's pages (see [`requests::page`]).
    pub requests: sled::Tree,
    /// Rejected requests, one record each.
    pub requests_rejected: sled::Tree,
    pub queue: sled::Tree,
    pub references: sled::Tree,
    pub dedupe: sled::Tree,
    pub counts: sled::Tree,
    pub runs: sled::Tree,
    pub runs_active: sled::Tree,
    /// Runs by status, workflow and contact ([`run_index`]).
    pub runs_index: sled::Tree,
    pub requests_index: sled::Tree,
    pub versions: sled::Tree,
    pub timers: sled::Tree,
    pub timers_by_owner: sled::Tree,
    pub enrolments: sled::Tree,
}

impl Store {
    /// Opens (or creates) the store in `dir` with the default page cache; `Locked` when
    /// another process has it.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        Self::open_with_cache(dir, DEFAULT_CACHE)
    }

    /// Opens the store with sled's page cache bounded to `cache_bytes` (`serve --cache`).
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> StoreResult<Self> {
        Self::open_with(dir, cache_bytes, false)
    }

    /// Opens the store; a store behind its control file is refused with `Behind`, unless
    /// `accept_data_loss`, which logs the loss and starts with what the store holds.
    pub fn open_with(dir: &Path, cache_bytes: u64, accept_data_loss: bool) -> StoreResult<Self> {
        let lock = compact::lock(dir)?;
        compact::recover(dir)?;
        let config = sled_config(&dir.join("sled"), cache_bytes);
        let db = open_error::open_sled(dir, config)?;
        // Before the first read: records may need the store's own dictionary.
        let learning = codec::Learning::open(&db).map_err(|message| StoreError::Corrupt {
            tree: "dicts",
            message,
        })?;
        let trees = Trees {
            meta: db.open_tree("meta")?,
            hooks: db.open_tree("hooks")?,
            hooks_by_id: db.open_tree("hooks_by_id")?,
            requests: db.open_tree("requests")?,
            requests_rejected: db.open_tree("requests_rejected")?,
            queue: db.open_tree("queue")?,
            references: db.open_tree("references")?,
            dedupe: db.open_tree("dedupe")?,
            counts: {
                let t = db.open_tree("counts")?;
                t.set_merge_operator(counts::add);
                t
            },
            runs: db.open_tree("runs")?,
            runs_active: db.open_tree("runs_active")?,
            runs_index: db.open_tree(run_index::TREE)?,
            requests_index: db.open_tree(request_index::TREE)?,
            versions: db.open_tree("workflow_versions")?,
            timers: db.open_tree("timers")?,
            timers_by_owner: db.open_tree("timers_by_owner")?,
            enrolments: db.open_tree("enrolments")?,
        };
        let started = std::time::Instant::now();
        let built = run_index::ensure(&trees.runs, &trees.runs_index)?;
        if let Some(count) = built.filter(|n| *n > 0) {
            tracing::info!(
                runs = count,
                ms = started.elapsed().as_millis() as u64,
                "built the runs index (status, workflow, contact)"
            );
        }
        let started = std::time::Instant::now();
        let built = request_index::ensure(&trees)?;
        if let Some(count) = built.filter(|n| *n > 0) {
            tracing::info!(
                requests = count,
                ms = started.elapsed().as_millis() as u64,
                "built the requests index (workflow, status)"
            );
        }
        requests::advance_ids(&trees)?;
        let ingest = ingest::IngestTrees {
            index: trees.requests_index.clone(),
            requests: trees.requests.clone(),
            queue: trees.queue.clone(),
            references: trees.references.clone(),
            dedupe: trees.dedupe.clone(),
            counts: trees.counts.clone(),
        };
        let acked = control::check(dir, &trees.meta, accept_data_loss)?;
        compact::keep_baseline(dir, &trees.meta)?;
        let commit = commit::GroupCommit::start(
            db.clone(),
            dir.to_path_buf(),
            ingest,
            (trees.meta.clone(), acked),
            learning.clone(),
        );
        let contacts = Arc::new(
            contacts::ContactTrees::open(&db)
                .map_err(|e| StoreError::Corrupt {
                    tree: "contacts",
                    message: e.to_string(),
                })?
                .keeping_the_reserve_of(dir),
        );
        let outbox = outbox::OutboxTrees::open(&db)
            .map_err(|e| StoreError::Corrupt {
                tree: "outbox",
                message: e.to_string(),
            })?
            .with_commit(commit.clone());
        let rejected = Arc::new(requests::RejectedLog::open(&db)?);
        Ok(Self {
            _lock: Arc::new(lock),
            hook_cache: Arc::default(),
            rejected,
            contacts,
            outbox,
            db,
            dir: dir.to_path_buf(),
            trees: Arc::new(trees),
            commit,
            learning,
        })
    }

    /// The data dir this store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A random 256-bit key made on first use and kept, for what the server signs and later
    /// checks (list cursors), so those stay valid across restarts.
    pub fn signing_key(&self) -> StoreResult<[u8; 32]> {
        const KEY: &[u8] = b"signing_key";
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).expect("the OS random source is unavailable");
        // Keeps whichever key was stored first.
        let _ = self
            .trees
            .meta
            .compare_and_swap(KEY, None as Option<&[u8]>, Some(&fresh[..]))?;
        let stored = self.trees.meta.get(KEY)?.unwrap_or_default();
        stored.as_ref().try_into().map_err(|_| StoreError::Corrupt {
            tree: "meta",
            message: format!("signing key has {} bytes, not 32", stored.len()),
        })
    }

    /// Waits until everything written before this call is on disk (shared with other callers).
    pub async fn durable(&self) -> StoreResult<()> {
        self.commit.wait().await
    }

    /// Waits, blocking the thread, until everything written so far is on disk. Goes through
    /// the group commit like every flush: sled is not reliable with concurrent flushes.
    pub fn flush_now(&self) -> StoreResult<()> {
        self.commit.wait_blocking()
    }

    /// Runs `f`, a stretch of this thread's writes to the store, with the store's own
    /// compression dictionary once it has one (see [`codec::Learning`]). Records written
    /// outside use the built-in dictionary; both read back.
    pub fn with_own_dictionary<T>(&self, f: impl FnOnce() -> T) -> T {
        self.learning.scope(f)
    }

    /// [`Self::with_own_dictionary`] for the run worker's batches, whose records are the
    /// samples the dictionary is learned from; learns it first when there are enough.
    pub fn learning_own_dictionary<T>(&self, f: impl FnOnce() -> T) -> T {
        self.learning.learn_if_ready(|| self.flush_now());
        self.learning.sampling(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_made_with_compression_still_opens_and_keeps_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let old = sled::Config::new()
            .path(dir.path().join("sled"))
            .use_compression(true)
            .open()
            .unwrap();
        old.open_tree("hooks")
            .unwrap()
            .insert("bookings", "h1")
            .unwrap();
        old.flush().unwrap();
        drop(old);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.trees.hooks.get("bookings").unwrap().unwrap(), "h1");
    }

    #[test]
    fn sled_is_given_a_third_of_the_cache_because_its_nodes_take_more_than_it_counts() {
        let dir = tempfile::tempdir().unwrap();
        for cache in [DEFAULT_CACHE, 96 << 20] {
            let config = sled_config(&dir.path().join("sled"), cache);
            assert_eq!(
                config.cache_capacity,
                cache / 3,
                "--cache {} MiB",
                cache >> 20
            );
        }
    }

    #[test]
    fn a_new_store_does_not_compress_its_records() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let conf = std::fs::read(dir.path().join("sled/conf")).unwrap();
        let conf = String::from_utf8_lossy(&conf);
        assert!(conf.contains("use_compression: false"), "{conf}");
    }
}
