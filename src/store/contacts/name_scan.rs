//! The ids of the contacts whose search texts hold a name `q`, newest first: the loose
//! entries and the packed blocks (see [`super::packed`]) walked together, a loose entry
//! overriding its contact's record in a block.
//!
//! A name that few contacts hold reads every block, and with sled's cache bounded (a million
//! contacts' blocks are several times `--cache`) each is read back from disk: the blocks are
//! then read from both ends at once, see [`Blocks`].

use super::block::{block_key, Block, PACKED};
use super::index;
use super::packed::TOMBSTONE;
use memchr::memmem::Finder;
use sled::IVec;
use std::collections::VecDeque;
use std::iter::Peekable;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Ids<'a> = Box<dyn Iterator<Item = sled::Result<Vec<u8>>> + 'a>;

/// Blocks this thread reads alone before a helper starts from the other end: a name most
/// contacts hold fills its page from the newest few, and a thread would cost more than it saves.
const ALONE: usize = 4;

/// True when one of a search entry's texts holds what `finder` looks for.
pub(crate) fn holds(finder: &Finder<'_>, texts: &[u8]) -> bool {
    index::split_texts(texts).any(|t| finder.find(t).is_some())
}

/// Matching ids below `below` (all without it), newest first.
pub(crate) struct NameScan<'a> {
    loose: Peekable<Ids<'a>>,
    packed: Peekable<Ids<'a>>,
}

impl<'a> NameScan<'a> {
    /// Walks `index` for texts that hold what `finder` looks for.
    pub(crate) fn new(
        index: &'a sled::Tree,
        finder: &Finder<'static>,
        below: Option<[u8; 16]>,
    ) -> Self {
        let end = below.map_or(index::SEARCH_END.to_vec(), |b| index::search_key(&b));
        let loose = index.range(vec![index::SEARCH]..end).rev();
        let loose_finder = finder.clone();
        let loose: Ids<'a> = Box::new(loose.filter_map(move |entry| {
            match entry {
                Ok((key, texts)) => (texts.as_ref() != TOMBSTONE && holds(&loose_finder, &texts))
                    .then(|| Ok(key[1..].to_vec())),
                Err(e) => Some(Err(e)),
            }
        }));
        let packed = Blocks::new(index, finder.clone(), below);
        // A contact with a loose entry is that entry's, whatever its block says.
        let packed: Ids<'a> = Box::new(packed.filter(move |id| match id {
            Ok(id) => !matches!(index.contains_key(index::search_key(id)), Ok(true)),
            Err(_) => true,
        }));
        Self {
            loose: loose.peekable(),
            packed: packed.peekable(),
        }
    }
}

impl Iterator for NameScan<'_> {
    type Item = sled::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let take_loose = match (self.loose.peek(), self.packed.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => true,
            (None, Some(_)) | (_, Some(Err(_))) => false,
            // Never equal: a packed id with a loose entry was left out.
            (Some(Ok(l)), Some(Ok(p))) => l > p,
        };
        if take_loose {
            self.loose.next()
        } else {
            self.packed.next()
        }
    }
}

/// The matching records of the blocks, newest first. This thread walks down from the newest
/// block; once it has read [`ALONE`] without being dropped, a helper thread walks up from the
/// oldest, and each block is read by whichever thread claims it first. When this thread meets
/// a block the helper has claimed, the helper's matches (oldest first) follow, in reverse.
struct Blocks {
    index: sled::Tree,
    down: sled::Iter,
    finder: Finder<'static>,
    below: Option<[u8; 16]>,
    /// Matches not yet handed out; the next is at the back.
    ready: VecDeque<Vec<u8>>,
    read: usize,
    meeting: Arc<Meeting>,
    helper: Option<JoinHandle<sled::Result<Vec<Vec<u8>>>>>,
    /// This thread has met the helper, or the oldest block: nothing more to read.
    met: bool,
}

/// Where the two walks are: the lowest block key this thread claimed, the highest the helper
/// claimed; a block is claimed under the lock, so each is read once.
#[derive(Default)]
struct Meeting {
    claimed: Mutex<(Option<IVec>, Option<IVec>)>,
    /// Set when this side is dropped: the helper's work would be thrown away.
    dropped: AtomicBool,
}

impl Meeting {
    /// Claims `key` for the walk down; false once the helper has claimed it.
    fn claim_down(&self, key: &IVec) -> bool {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let free = claimed.1.as_ref().is_none_or(|up| key > up);
        if free {
            claimed.0 = Some(key.clone());
        }
        free
    }

    /// Claims `key` for the walk up; false once this thread has claimed it or it is dropped.
    fn claim_up(&self, key: &IVec) -> bool {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let free = !self.dropped.load(Ordering::Relaxed)
            && claimed.0.as_ref().is_none_or(|down| key < down);
        if free {
            claimed.1 = Some(key.clone());
        }
        free
    }
}

impl Blocks {
    fn new(index: &sled::Tree, finder: Finder<'static>, below: Option<[u8; 16]>) -> Self {
        Self {
            index: index.clone(),
            down: index.range(Self::range(below)),
            finder,
            below,
            ready: VecDeque::new(),
            read: 0,
            meeting: Arc::default(),
            helper: None,
            met: false,
        }
    }

    fn range(below: Option<[u8; 16]>) -> std::ops::Range<Vec<u8>> {
        vec![PACKED]..below.map_or(vec![PACKED + 1], |b| block_key(&b))
    }

    /// The matching ids of one block's value, in id order.
    fn matches(
        finder: &Finder<'_>,
        below: Option<&[u8; 16]>,
        value: &[u8],
    ) -> sled::Result<Vec<Vec<u8>>> {
        let Some(block) = Block::parse(value) else {
            return Err(sled::Error::Corruption { at: None, bt: () });
        };
        let found = block.matching(finder, |t| holds(finder, t), below.map(|b| &b[..]));
        Ok(found.into_iter().map(|i| block.id(i).to_vec()).collect())
    }

    /// Starts the walk up from the oldest block.
    fn start_helper(&mut self) {
        let (index, meeting) = (self.index.clone(), self.meeting.clone());
        let (finder, below) = (self.finder.clone(), self.below);
        let walk_up = move || -> sled::Result<Vec<Vec<u8>>> {
            let mut found = Vec::new();
            for item in index.range(Self::range(below)) {
                let (key, value) = item?;
                if !meeting.claim_up(&key) {
                    break;
                }
                found.extend(Self::matches(&finder, below.as_ref(), &value)?);
            }
            Ok(found)
        };
        // Without a thread (none left to start), this thread reads every block itself.
        self.helper = std::thread::Builder::new()
            .name("hookflow-scan".into())
            .spawn(walk_up)
            .ok();
    }

    /// The helper's matches, once this thread has met it.
    fn join_helper(&mut self) -> sled::Result<()> {
        let Some(helper) = self.helper.take() else {
            return Ok(());
        };
        let found = helper.join().unwrap_or_else(|_| {
            Err(sled::Error::ReportableBug(
                "the thread reading a name search's oldest blocks panicked".into(),
            ))
        })?;
        // Oldest first, and the next is taken from the back.
        self.ready.extend(found);
        Ok(())
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        self.meeting.dropped.store(true, Ordering::Relaxed);
    }
}

impl Iterator for Blocks {
    type Item = sled::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(id) = self.ready.pop_back() {
                return Some(Ok(id));
            }
            if self.met {
                return None;
            }
            let item = self.down.next_back().and_then(|item| match item {
                Ok((key, value)) => self.meeting.claim_down(&key).then_some(Ok(value)),
                Err(e) => Some(Err(e)),
            });
            let value = match item {
                Some(Ok(value)) => value,
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    self.met = true;
                    if let Err(e) = self.join_helper() {
                        return Some(Err(e));
                    }
                    continue;
                }
            };
            match Self::matches(&self.finder, self.below.as_ref(), &value) {
                Ok(found) => self.ready.extend(found),
                Err(e) => return Some(Err(e)),
            }
            self.read += 1;
            if self.read == ALONE {
                self.start_helper();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::block::encode;
    use super::*;

    /// 300 blocks of 3 records, ids 0..900 in order; record `i`'s texts hold `q` when `hit(i)`.
    fn blocks(hit: impl Fn(u128) -> bool) -> (tempfile::TempDir, sled::Tree) {
        let dir = tempfile::tempdir().unwrap();
        let tree = sled::open(dir.path()).unwrap().open_tree("index").unwrap();
        for first in (0..900u128).step_by(3) {
            let records: Vec<_> = (first..first + 3)
                .map(|i| {
                    let texts = if hit(i) { "ann q-hit" } else { "bob" };
                    (
                        i.to_be_bytes(),
                        format!("{texts}\0{i}@example.com").into_bytes(),
                    )
                })
                .collect();
            tree.insert(block_key(&first.to_be_bytes()), encode(&records))
                .unwrap();
        }
        (dir, tree)
    }

    fn ids(found: Vec<sled::Result<Vec<u8>>>) -> Vec<u128> {
        let id = |v: Vec<u8>| u128::from_be_bytes(v.try_into().unwrap());
        found.into_iter().map(|r| id(r.unwrap())).collect()
    }

    #[test]
    fn a_name_few_contacts_hold_is_read_from_both_ends_and_comes_out_newest_first() {
        let hit = |i: u128| i % 97 == 5 || i == 0 || i == 899;
        let (_d, tree) = blocks(hit);
        let finder = Finder::new(b"q-hit").into_owned();
        for below in [None, Some(700u128), Some(4)] {
            let mut scan = Blocks::new(&tree, finder.clone(), below.map(u128::to_be_bytes));
            // Up to the page that starts the helper; then the helper's first claim is waited
            // for, since a store hot in memory could otherwise be read to the end before it
            // starts (matches are at most 33 blocks apart, so one page never reads them all).
            let mut found = Vec::new();
            while scan.helper.is_none() {
                let Some(id) = scan.next() else { break };
                found.push(id);
            }
            while scan.meeting.claimed.lock().unwrap().1.is_none()
                && scan.helper.as_ref().is_some_and(|h| !h.is_finished())
            {
                std::thread::yield_now();
            }
            found.extend(scan.by_ref());
            let found = ids(found);
            let want: Vec<u128> = (0..below.unwrap_or(900))
                .rev()
                .filter(|i| hit(*i))
                .collect();
            assert_eq!(found, want, "below {below:?}");
            let (down, up) = scan.meeting.claimed.lock().unwrap().clone();
            if below != Some(4) {
                // The helper read the oldest blocks, this thread the newest.
                assert!(up.is_some() && down.is_some(), "below {below:?}");
                assert!(up < down);
            }
        }
    }

    #[test]
    fn a_name_most_contacts_hold_fills_its_page_from_the_newest_blocks_alone() {
        let (_d, tree) = blocks(|i| i % 2 == 0);
        let finder = Finder::new(b"q-hit").into_owned();
        let mut scan = Blocks::new(&tree, finder, None);
        let page: Vec<_> = scan.by_ref().take(4).collect();
        assert_eq!(ids(page), [898, 896, 894, 892]);
        assert!(
            scan.helper.is_none(),
            "no thread for a page the newest blocks fill"
        );
        drop(scan);
    }
}
