//! The intake journal: accepted requests are made durable here, in hookflow's own append-only
//! files, and written into sled afterwards by the applier (see [`super::applier`]).
//!
//! Why: a sled transaction and flush per round of requests was most of a request's cost
//! (every sled transaction seals its log buffer and hands it to sled's I/O threads), and it sat
//! between the request and its answer. Now a round is one `write` and one `fdatasync` of
//! `DATA/journal/NNNNNNNN.log`; the applier writes many rounds into sled in one transaction,
//! behind the answers. The journal is a redo log, not a store: once sled holds a segment's
//! records durably (the position applied is written in the same transaction, and a real flush
//! of sled has followed) the segment is deleted. Start-up applies what sled does not hold yet.
//!
//! A segment is [`MAGIC`] and then frames: `len u32 | crc32 u32 | entry` (little-endian; the CRC
//! covers the entry, see [`entry`]). A frame cut short or failing its CRC at the end of the
//! newest segment is a round that was being written when the process died (never answered):
//! it is cut off. The same in an older segment, or a bad header, is damage: the store refuses
//! to open unless told to accept the loss.

pub(crate) mod entry;
#[cfg(test)]
mod tests;

use super::StoreResult;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first bytes of every segment (format version 1).
const MAGIC: &[u8; 8] = b"HFJRNL01";
/// A frame's length and CRC.
const FRAME_HEAD: usize = 8;
/// A segment is closed and a new one started once it is this long.
pub(crate) const SEGMENT_BYTES: u64 = 32 * 1024 * 1024;

/// A place in the journal: a segment's number and a byte offset in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub segment: u64,
    pub offset: u64,
}

impl Position {
    pub(crate) fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.segment.to_be_bytes());
        out[8..].copy_from_slice(&self.offset.to_be_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 16] = bytes.try_into().ok()?;
        Some(Self {
            segment: u64::from_be_bytes(bytes[..8].try_into().ok()?),
            offset: u64::from_be_bytes(bytes[8..].try_into().ok()?),
        })
    }
}

/// The journal's folder in a data dir.
pub(crate) fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

pub(crate) fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:08}.log"))
}

/// Appends `entry` to `out` as one frame.
pub(crate) fn frame(out: &mut Vec<u8>, entry: &[u8]) {
    out.extend_from_slice(&(entry.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(entry).to_le_bytes());
    out.extend_from_slice(entry);
}

/// The segment being written.
pub(crate) struct Journal {
    dir: PathBuf,
    segment: u64,
    file: File,
    len: u64,
    /// The segments before this one still on disk, with their lengths, oldest first.
    closed: std::collections::VecDeque<(u64, u64)>,
}

impl Journal {
    /// Starts segment `segment` (a new, empty file) in `dir`.
    pub(crate) fn start(dir: &Path, segment: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = new_segment(dir, segment)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            segment,
            file,
            len: MAGIC.len() as u64,
            closed: Default::default(),
        })
    }

    /// Where the next frame goes.
    pub(crate) fn position(&self) -> Position {
        Position {
            segment: self.segment,
            offset: self.len,
        }
    }

    /// Writes `frames` (whole frames) at the end and makes them durable. On an error the
    /// segment is cut back to where it was, so what was not answered is not applied later.
    pub(crate) fn append(&mut self, frames: &[u8]) -> std::io::Result<()> {
        let written = (&self.file)
            .write_all(frames)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += frames.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// True when the segment being written holds no record.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == MAGIC.len() as u64
    }

    /// Starts the next segment; the old one stays until sled holds it ([`Self::delete_applied`]).
    pub(crate) fn rotate(&mut self) -> std::io::Result<()> {
        self.file = new_segment(&self.dir, self.segment + 1)?;
        self.closed.push_back((self.segment, self.len));
        self.segment += 1;
        self.len = MAGIC.len() as u64;
        Ok(())
    }

    /// Starts the next segment once this one is full.
    pub(crate) fn rotate_if_full(&mut self) -> std::io::Result<()> {
        if self.len < SEGMENT_BYTES {
            return Ok(());
        }
        self.rotate()
    }

    /// True when older segments wait for a checkpoint.
    pub(crate) fn has_old_segments(&self) -> bool {
        !self.closed.is_empty()
    }

    /// Deletes the older segments that end at or before `applied` (sled, flushed since that
    /// position was read, durably holds all they had).
    pub(crate) fn delete_applied(&mut self, applied: Position) {
        while let Some(&(segment, len)) = self.closed.front() {
            let done = Position {
                segment,
                offset: len,
            };
            if applied < done {
                return;
            }
            let _ = std::fs::remove_file(segment_path(&self.dir, segment));
            self.closed.pop_front();
        }
    }
}

/// Creates a segment with its header, and makes the file and its name durable.
fn new_segment(dir: &Path, segment: u64) -> std::io::Result<File> {
    let path = segment_path(dir, segment);
    let mut file = File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    file.write_all(MAGIC)?;
    file.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// The segment numbers in `dir`, in order.
pub(crate) fn segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    let files = match std::fs::read_dir(dir) {
        Ok(files) => files,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for file in files {
        let name = file?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_suffix(".log").and_then(|n| n.parse().ok()) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Damage found while reading the journal back.
#[derive(Debug)]
pub(crate) struct Damage {
    pub path: PathBuf,
    pub offset: u64,
    pub what: String,
}

/// How reading a segment ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Every byte was a whole frame.
    Clean,
    /// A frame cut short or failing its CRC at `at`; `len` bytes follow from there.
    Torn { at: u64, len: u64 },
}

/// Reads the frames of `segment` from `from` (the header when 0), calling `each` with every
/// entry and the position after it. The outer error is `each`'s.
pub(crate) fn read_segment(
    dir: &Path,
    segment: u64,
    from: u64,
    mut each: impl FnMut(&[u8], Position) -> StoreResult<()>,
) -> StoreResult<Result<End, Damage>> {
    let path = segment_path(dir, segment);
    let damage = |offset: u64, what: String| Damage {
        path: path.clone(),
        offset,
        what,
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => return Ok(Err(damage(0, format!("cannot read it: {e}")))),
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Ok(Err(damage(0, "not a hookflow journal segment".into())));
    }
    let mut at = (from as usize).max(MAGIC.len());
    if at > bytes.len() {
        let what = format!(
            "the store applied up to byte {at}, the file has {}",
            bytes.len()
        );
        return Ok(Err(damage(at as u64, what)));
    }
    while at < bytes.len() {
        let torn = End::Torn {
            at: at as u64,
            len: (bytes.len() - at) as u64,
        };
        let Some(head) = bytes.get(at..at + FRAME_HEAD) else {
            return Ok(Ok(torn));
        };
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        let body_at = at + FRAME_HEAD;
        let Some(entry) = bytes.get(body_at..body_at + len) else {
            return Ok(Ok(torn));
        };
        if crc32fast::hash(entry) != crc {
            return Ok(Ok(torn));
        }
        at = body_at + len;
        each(
            entry,
            Position {
                segment,
                offset: at as u64,
            },
        )?;
    }
    Ok(Ok(End::Clean))
}

/// Cuts a torn tail off `segment` at `at`.
pub(crate) fn cut(dir: &Path, segment: u64, at: u64) -> std::io::Result<()> {
    let file = File::options()
        .write(true)
        .open(segment_path(dir, segment))?;
    file.set_len(at)?;
    file.sync_all()
}

/// Deletes every segment file (after start-up has applied them all and sled holds them).
pub(crate) fn delete_all(dir: &Path) -> std::io::Result<()> {
    for segment in segments(dir)? {
        std::fs::remove_file(segment_path(dir, segment))?;
    }
    Ok(())
}
