//! The ids of the contacts whose search texts hold a name `q`, newest first: the loose
//! entries and the packed blocks (see [`super::packed`]) walked together, a loose entry
//! overriding its contact's record in a block.

use super::block::{block_key, Block, PACKED};
use super::index;
use super::packed::TOMBSTONE;
use memchr::memmem::Finder;
use sled::IVec;
use std::collections::VecDeque;
use std::iter::Peekable;

type Ids<'a> = Box<dyn Iterator<Item = sled::Result<Vec<u8>>> + 'a>;

/// Matching ids below `below` (all without it), newest first.
pub(crate) struct NameScan<'a> {
    loose: Peekable<Ids<'a>>,
    packed: Peekable<Ids<'a>>,
}

impl<'a> NameScan<'a> {
    /// Walks `index` for texts that `finder` finds and `finds` confirms.
    pub(crate) fn new(
        index: &'a sled::Tree,
        finder: &'a Finder<'static>,
        finds: impl Fn(&[u8]) -> bool + Copy + 'a,
        below: Option<[u8; 16]>,
    ) -> Self {
        let end = below.map_or(index::SEARCH_END.to_vec(), |b| index::search_key(&b));
        let loose = index.range(vec![index::SEARCH]..end).rev();
        let loose: Ids<'a> = Box::new(loose.filter_map(move |entry| match entry {
            Ok((key, texts)) => {
                (texts.as_ref() != TOMBSTONE && finds(&texts)).then(|| Ok(key[1..].to_vec()))
            }
            Err(e) => Some(Err(e)),
        }));
        let end = below.map_or(vec![PACKED + 1], |b| block_key(&b));
        let blocks = index.range(vec![PACKED]..end).rev();
        let packed = Blocks {
            blocks: Box::new(blocks.map(|b| b.map(|(_, v)| v))),
            finder,
            finds,
            below,
            ready: VecDeque::new(),
        };
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

/// The matching records of the blocks, newest first.
struct Blocks<'a, F> {
    blocks: Box<dyn Iterator<Item = sled::Result<IVec>> + 'a>,
    finder: &'a Finder<'static>,
    finds: F,
    below: Option<[u8; 16]>,
    ready: VecDeque<Vec<u8>>,
}

impl<F: Fn(&[u8]) -> bool> Iterator for Blocks<'_, F> {
    type Item = sled::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(id) = self.ready.pop_back() {
                return Some(Ok(id));
            }
            let value = match self.blocks.next()? {
                Ok(value) => value,
                Err(e) => return Some(Err(e)),
            };
            let Some(block) = Block::parse(&value) else {
                return Some(Err(sled::Error::Corruption { at: None, bt: () }));
            };
            let below = self.below.as_ref().map(|b| &b[..]);
            for i in block.matching(self.finder, &self.finds, below) {
                self.ready.push_back(block.id(i).to_vec());
            }
        }
    }
}
