//! A store's own dictionary, learned from its first records.
//!
//! The built-in dictionary knows hookflow's field names; it cannot know a clinic's: the
//! sender's payload fields, the practitioners, the email template's HTML. A dictionary trained
//! made of a store's own records makes its later records two to five times smaller than the
//! built-in one does (a booking's run 735 → 309 bytes, its email 1,277 → 224, its request
//! 599 → 169 in a trial on the bench's bookings), and compressing against it is faster, since
//! more of each record is a match.
//!
//! The dictionary is kept in the store's `dicts` tree, flushed before any record uses it, and
//! every frame made with it names it (zstd's dictionary id), so a record reads back wherever
//! its store is opened: [`Learning::open`] hands every dictionary of the store to the process's
//! decoders before anything is read. A store learns one dictionary in its life and keeps it;
//! records made before it, or outside a [`Learning::scope`], use the built-in one.
//!
//! Which store a record goes to is known where the writing starts, not where a value is
//! encoded, so the threads that write a store's busiest records (the run worker's batches, the
//! committer's rounds, the mailer's state changes, a CSV import) run inside its scope:
//! [`encoder`] then gives the store's dictionary to [`super::compress_after`]. The worker's
//! batches are also where samples are taken until there are enough to learn from.

use super::LEVEL;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use zstd::zstd_safe::{self, zstd_sys, CDict, DDict};

/// The tree that holds a store's dictionaries: key a big-endian sequence number, value the
/// dictionary as zstd made it (its id inside).
const TREE: &str = "dicts";
/// Records sampled before learning.
const SAMPLES: usize = 1024;
/// Smaller records are not sampled (they are not compressed either), nor larger ones (a
/// round's page of requests: its records come one by one in the queue entries).
const SAMPLE_BYTES: std::ops::Range<usize> = super::MIN_COMPRESSED..8 * 1024;
/// The most sample bytes kept while waiting: learning starts when either bound is reached.
const SAMPLED_BYTES: usize = 1024 * 1024;
/// The dictionary's content is at most this many bytes of samples ([`content_of`]): past 16–32
/// KiB the trial's records shrank no further.
const CONTENT_BYTES: usize = 32 * 1024;

/// At most this many kinds of record (see [`kind_of`]) share the content.
const MAX_KINDS: usize = 16;
/// A kind is told by the names of this many first fields, found in at most this many bytes
/// of a record's start.
const KIND_NAMES: usize = 3;
const KIND_BYTES: usize = 256;

/// A learned dictionary ready to compress with.
pub(crate) struct Encoder {
    pub(crate) cdict: CDict<'static>,
}

/// A dictionary ready to decompress with (and its bytes, to tell a clash of ids).
pub(crate) struct Decoder {
    dict: Vec<u8>,
    pub(crate) ddict: DDict<'static>,
}

/// One store's dictionary, learned or being learned. Cheap to clone.
#[derive(Clone)]
pub struct Learning {
    inner: Arc<Inner>,
}

struct Inner {
    tree: sled::Tree,
    encoder: OnceLock<Arc<Encoder>>,
    samples: Mutex<Samples>,
    /// Set when the samples are enough: the next [`Learning::learn_if_ready`] learns.
    ready: AtomicBool,
}

#[derive(Default)]
struct Samples {
    taken: Vec<Vec<u8>>,
    bytes: usize,
    /// No more samples: learning was tried (or the store already had a dictionary).
    closed: bool,
}

impl std::fmt::Debug for Learning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Learning")
            .field("learned", &self.inner.encoder.get().is_some())
            .finish()
    }
}

impl Learning {
    /// Opens the store's dictionaries: each is handed to this process's decoders, and the
    /// newest is the one new records are compressed against. Call before reading any record.
    pub fn open(db: &sled::Db) -> Result<Self, String> {
        let tree = db.open_tree(TREE).map_err(|e| e.to_string())?;
        let mut newest = None;
        for kv in tree.iter() {
            let (_, dict) = kv.map_err(|e| e.to_string())?;
            register(&dict)?;
            newest = Some(dict);
        }
        let learning = Learning {
            inner: Arc::new(Inner {
                tree,
                encoder: OnceLock::new(),
                samples: Mutex::default(),
                ready: AtomicBool::new(false),
            }),
        };
        if let Some(dict) = newest {
            learning.use_dictionary(&dict);
        }
        Ok(learning)
    }

    /// Runs `f` with this store's dictionary as the one records are compressed against on this
    /// thread, once it has one.
    pub fn scope<T>(&self, f: impl FnOnce() -> T) -> T {
        self.enter(false, f)
    }

    /// [`Self::scope`], and the records compressed meanwhile are samples to learn the
    /// dictionary from until it is learned. Only the run worker's batches sample: they write
    /// every kind of record a booking makes. Under a load the committer's queue entries would
    /// outnumber them, and a dictionary made mostly of those compresses the runs, contacts and
    /// emails little better than the built-in one.
    pub fn sampling<T>(&self, f: impl FnOnce() -> T) -> T {
        self.enter(true, f)
    }

    fn enter<T>(&self, sampling: bool, f: impl FnOnce() -> T) -> T {
        let previous = SCOPE.with(|s| s.replace(Some((self.clone(), sampling))));
        // Restores the previous scope however `f` ends (a panic in a worker batch is caught
        // further up and the thread goes on).
        struct Restore(Option<(Learning, bool)>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                SCOPE.with(|s| *s.borrow_mut() = previous);
            }
        }
        let _restore = Restore(previous);
        f()
    }

    /// The store whose scope this thread is in, to carry it over to a helper thread.
    pub fn current() -> Option<Learning> {
        SCOPE.with(|s| s.borrow().as_ref().map(|(learning, _)| learning.clone()))
    }

    /// Whether the store has its own dictionary.
    pub fn is_learned(&self) -> bool {
        self.inner.encoder.get().is_some()
    }

    /// Learns the dictionary once enough records were sampled: trains it, stores it, makes it
    /// durable with `flush` (the store's own: sled is not safe with flushes side by side), and
    /// only then compresses against it. Returns whether it learned one now. A failure is logged
    /// and the store stays on the built-in dictionary until it is opened again.
    pub fn learn_if_ready<E: std::fmt::Display>(
        &self,
        flush: impl FnOnce() -> Result<(), E>,
    ) -> bool {
        if !self.inner.ready.swap(false, Ordering::AcqRel) {
            return false;
        }
        let samples = std::mem::take(&mut lock(&self.inner.samples).taken);
        match self.learn(&samples, flush) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not learn the store's dictionary; records keep the built-in one");
                false
            }
        }
    }

    fn learn<E: std::fmt::Display>(
        &self,
        samples: &[Vec<u8>],
        flush: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), String> {
        let started = std::time::Instant::now();
        let dict = dictionary_of(samples)?;
        register(&dict)?;
        let key = match self.inner.tree.last().map_err(|e| e.to_string())? {
            Some((k, _)) => sequence(&k) + 1,
            None => 1,
        };
        self.inner
            .tree
            .insert(key.to_be_bytes(), dict.as_slice())
            .map_err(|e| e.to_string())?;
        // On disk before the first record that needs it.
        flush().map_err(|e| format!("flushing the dictionary: {e}"))?;
        self.use_dictionary(&dict);
        tracing::info!(
            records = samples.len(),
            bytes = dict.len(),
            ms = started.elapsed().as_millis() as u64,
            "learned the store's dictionary"
        );
        Ok(())
    }

    fn use_dictionary(&self, dict: &[u8]) {
        let _ = self.inner.encoder.set(Arc::new(Encoder {
            cdict: zstd_safe::create_cdict(dict, LEVEL),
        }));
        lock(&self.inner.samples).closed = true;
    }

    fn sample(&self, bytes: &[u8]) {
        if !SAMPLE_BYTES.contains(&bytes.len()) {
            return;
        }
        let mut samples = lock(&self.inner.samples);
        if samples.closed {
            return;
        }
        samples.taken.push(bytes.to_vec());
        samples.bytes += bytes.len();
        if samples.taken.len() >= SAMPLES || samples.bytes >= SAMPLED_BYTES {
            samples.closed = true;
            self.inner.ready.store(true, Ordering::Release);
        }
    }
}

thread_local! {
    /// The store whose records this thread is writing, and whether they are samples (see
    /// [`Learning::scope`]).
    static SCOPE: RefCell<Option<(Learning, bool)>> = const { RefCell::new(None) };
}

/// The dictionary to compress `bytes` against on this thread: the scope's store's when it has
/// learned one (`None`: the built-in one). Samples `bytes` for a store still learning.
pub(crate) fn encoder(bytes: &[u8]) -> Option<Arc<Encoder>> {
    SCOPE.with(|s| {
        let scope = s.borrow();
        let (learning, sampling) = scope.as_ref()?;
        match learning.inner.encoder.get() {
            Some(encoder) => Some(encoder.clone()),
            None => {
                if *sampling {
                    learning.sample(bytes);
                }
                None
            }
        }
    })
}

/// Every dictionary this process has read or learned, by zstd's id, for decoding. Ids are
/// derived from a dictionary's content, so two stores' dictionaries do not share one unless
/// they are the same (a clash is refused rather than guessed at).
fn decoders() -> &'static RwLock<HashMap<u32, Arc<Decoder>>> {
    static DICTS: OnceLock<RwLock<HashMap<u32, Arc<Decoder>>>> = OnceLock::new();
    DICTS.get_or_init(Default::default)
}

fn register(dict: &[u8]) -> Result<(), String> {
    let id = zstd_safe::get_dict_id_from_dict(dict);
    if id == 0 {
        return Err("a stored dictionary has no id".into());
    }
    let mut all = decoders().write().unwrap_or_else(|e| e.into_inner());
    match all.get(&id) {
        Some(known) if known.dict != dict => Err(format!(
            "two different dictionaries carry the id {id}; the second is not used"
        )),
        Some(_) => Ok(()),
        None => {
            let ddict = zstd_safe::create_ddict(dict);
            all.insert(
                id,
                Arc::new(Decoder {
                    dict: dict.to_vec(),
                    ddict,
                }),
            );
            Ok(())
        }
    }
}

/// The decoder of dictionary `id`, if this process has read it.
pub(crate) fn decoder(id: u32) -> Option<Arc<Decoder>> {
    decoders()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned()
}

/// A dictionary whose content is the newest samples of each kind ([`content_of`]; zstd matches
/// against the content), with entropy tables and an id made from all of them
/// (`ZDICT_finalizeDictionary`). zstd's trainer (`ZDICT_trainFromBuffer`) picks content a
/// little better, but holds about 12 MiB while it works on 2 MiB of samples: a peak of RSS
/// the server keeps as its high-water mark.
fn dictionary_of(samples: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let content = content_of(samples);
    let sizes: Vec<usize> = samples.iter().map(Vec::len).collect();
    let all = samples.concat();
    let mut dict = vec![0u8; content.len() + 8 * 1024];
    let params = zstd_sys::ZDICT_params_t {
        compressionLevel: LEVEL,
        notificationLevel: 0,
        // Made from the content: two stores' dictionaries share an id only if they are equal.
        dictID: 0,
    };
    // SAFETY: every pointer is to a live buffer of the length passed with it; `sizes` has
    // one entry per sample and they add up to `all.len()`; zstd writes at most `dict.len()`
    // bytes and returns how many (or an error code, checked below).
    let written = unsafe {
        zstd_sys::ZDICT_finalizeDictionary(
            dict.as_mut_ptr().cast(),
            dict.len(),
            content.as_ptr().cast(),
            content.len(),
            all.as_ptr().cast(),
            sizes.as_ptr(),
            sizes.len() as u32,
            params,
        )
    };
    // SAFETY: plain functions on the returned code.
    if unsafe { zstd_sys::ZDICT_isError(written) } != 0 {
        let name = unsafe { std::ffi::CStr::from_ptr(zstd_sys::ZDICT_getErrorName(written)) };
        return Err(format!(
            "making a dictionary of {} records: {}",
            samples.len(),
            name.to_string_lossy()
        ));
    }
    dict.truncate(written);
    Ok(dict)
}

/// The dictionary's content: the newest records of every kind, each kind's share of it its share
/// of the sampled bytes and at least one record. The newest samples alone were mostly one kind
/// whenever they ended in a full batch, whose commit encodes every write of one tree before the
/// next: records of the kinds left out were compressed little better than with the built-in
/// dictionary (a contact 157 against 216 bytes, an email 340 against 384 in this module's test).
fn content_of(samples: &[Vec<u8>]) -> Vec<u8> {
    let mut kinds: Vec<(Vec<u8>, Vec<&[u8]>)> = Vec::new();
    for sample in samples.iter().rev() {
        let kind = kind_of(sample);
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, newest_first)) => newest_first.push(sample),
            None => kinds.push((kind, vec![sample])),
        }
    }
    // The commonest kinds first; a store's odd records do not crowd out its usual ones.
    kinds.sort_by_key(|(_, of_kind)| std::cmp::Reverse(of_kind.len()));
    kinds.truncate(MAX_KINDS);
    // Each kind's share of the content is its share of the sampled bytes, and at least its
    // newest record.
    let bytes_of = |of_kind: &[&[u8]]| of_kind.iter().map(|s| s.len()).sum::<usize>();
    let total: usize = kinds.iter().map(|(_, of_kind)| bytes_of(of_kind)).sum();
    let mut chosen = Vec::new();
    let mut len = 0;
    for (_, newest_first) in &kinds {
        let share = CONTENT_BYTES * bytes_of(newest_first) / total.max(1);
        let mut taken = 0;
        for sample in newest_first {
            if (taken > 0 && taken + sample.len() > share) || len + sample.len() > CONTENT_BYTES {
                break;
            }
            taken += sample.len();
            len += sample.len();
            chosen.push(*sample);
        }
    }
    // zstd reaches the end of the content with the shortest offsets: the newest there.
    chosen.reverse();
    chosen.concat()
}

/// The kind of record a sample is: the names of its first fields. Records are structs
/// serialised in field order, so each type is a kind; the first name alone would not do, since
/// runs, emails and timers all begin with `"id"`.
fn kind_of(sample: &[u8]) -> Vec<u8> {
    let head = &sample[..sample.len().min(KIND_BYTES)];
    let mut kind = Vec::new();
    let mut names = 0;
    // A name is a string right after `{` or `,` and right before `:`.
    for (colon, _) in head.iter().enumerate().filter(|(_, &b)| b == b':') {
        let Some(quote) = head[..colon.saturating_sub(1)]
            .iter()
            .rposition(|&b| b == b'"')
        else {
            continue;
        };
        if colon > 0
            && head[colon - 1] == b'"'
            && quote > 0
            && matches!(head[quote - 1], b'{' | b',')
        {
            kind.extend_from_slice(&head[quote..colon]);
            names += 1;
            if names == KIND_NAMES {
                break;
            }
        }
    }
    kind
}

fn sequence(key: &[u8]) -> u64 {
    key.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn lock(samples: &Mutex<Samples>) -> std::sync::MutexGuard<'_, Samples> {
    samples.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
