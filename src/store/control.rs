//! The control file: a small record, outside sled, of what the store acknowledged.
//!
//! sled 0.34 may open a damaged `db` file as an empty or older store without a word, and then
//! hookflow would make new hook URLs and forget acknowledged requests. So the committer keeps a
//! counter of acknowledged requests in the `meta` tree and, after a flush that covered new ones,
//! copies it to `control.json` in the data dir (written aside, synced, renamed). The file never
//! claims more than sled has made durable; when the store opens holding less than the file
//! says, or a different or brand-new store, it refuses to start.

use super::StoreError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The control file's name in the data dir.
pub const FILE: &str = "control.json";
/// `meta` key: a random id made when the store is created.
const STORE_ID: &[u8] = b"store_id";
/// `meta` key: requests acknowledged since the store was created (u64, big-endian).
const ACKED: &[u8] = b"acknowledged";
/// `meta` key: the id of the newest acknowledged request.
const NEWEST: &[u8] = b"newest_acknowledged";

/// What the store had acknowledged, as the control file and the `meta` tree record it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Acked {
    /// The store's random id; `None` in a store that was never opened by this version.
    pub store_id: Option<String>,
    /// Requests acknowledged (answered 2xx after the flush) since the store was created.
    pub acknowledged: u64,
    /// The id of the newest of them (ULIDs sort by time).
    pub newest_request: Option<String>,
}

impl Acked {
    /// Reads the store's own record from its `meta` tree.
    pub(crate) fn read(meta: &sled::Tree) -> sled::Result<Self> {
        let text = |k: &[u8]| -> sled::Result<Option<String>> {
            Ok(meta
                .get(k)?
                .map(|v| String::from_utf8_lossy(&v).into_owned()))
        };
        Ok(Self {
            store_id: text(STORE_ID)?,
            acknowledged: super::counts::read(meta.get(ACKED)?.as_deref()),
            newest_request: text(NEWEST)?,
        })
    }

    /// Adds the requests of a round (before the flush that makes them durable).
    pub(crate) fn record(
        &mut self,
        meta: &sled::Tree,
        ids: impl Iterator<Item = String>,
    ) -> sled::Result<()> {
        for id in ids {
            self.acknowledged += 1;
            if self.newest_request.as_ref().is_none_or(|n| *n < id) {
                self.newest_request = Some(id);
            }
        }
        meta.insert(ACKED, &self.acknowledged.to_be_bytes())?;
        if let Some(newest) = &self.newest_request {
            meta.insert(NEWEST, newest.as_bytes())?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let n = thousands(self.acknowledged);
        match &self.newest_request {
            Some(id) => format!("{n} acknowledged requests, the newest {id}"),
            None => format!("{n} acknowledged requests"),
        }
    }
}

/// Compares the store that just opened with the data dir's control file. A store behind the
/// file is refused (`Behind`) unless `accept_loss`, which logs the loss loudly and takes the
/// store as it is. Gives the store an id when it has none and rewrites the file.
pub(crate) fn check(dir: &Path, meta: &sled::Tree, accept_loss: bool) -> Result<Acked, StoreError> {
    let mut store = Acked::read(meta)?;
    if let Some(control) = read_file(dir)? {
        if let Some(missing) = missing(&control, &store) {
            if !accept_loss {
                return Err(StoreError::Behind {
                    dir: dir.display().to_string(),
                    missing,
                });
            }
            tracing::error!(
                data = %dir.display(),
                %missing,
                "STARTING WITH DATA LOSS (--accept-data-loss): the store is behind its control \
                 file; what is missing stays lost and the control file now follows the store"
            );
        }
    }
    if store.store_id.is_none() {
        let id = ulid::Ulid::new().to_string();
        meta.insert(STORE_ID, id.as_bytes())?;
        meta.flush()?;
        store.store_id = Some(id);
    }
    write_file(dir, &store)?;
    Ok(store)
}

/// What the store lacks compared to the control file, in words; `None` when it is whole.
fn missing(control: &Acked, store: &Acked) -> Option<String> {
    let said = format!("the control file says {}", control.describe());
    match (&control.store_id, &store.store_id) {
        (Some(_), None) => Some(format!(
            "{said}, but the store is empty or new (sled may have opened a damaged `db` file \
             as an empty store)"
        )),
        (Some(c), Some(s)) if c != s => Some(format!(
            "{said} of store {c}, but the data dir holds another store ({s})"
        )),
        _ if store.acknowledged < control.acknowledged => Some(format!(
            "{said}; the store holds only {} ({} lost)",
            store.describe(),
            thousands(control.acknowledged - store.acknowledged)
        )),
        _ => None,
    }
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn read_file(dir: &Path) -> Result<Option<Acked>, StoreError> {
    let file = path(dir);
    match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Unreadable {
                dir: dir.display().to_string(),
                reason: format!(
                    "its control file {} is damaged ({e}); if the store is fine, delete the \
                     file and hookflow writes a new one",
                    file.display()
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io(e)),
    }
}

/// Writes the control file so that a crash leaves the old one or the new one, never half.
pub(crate) fn write_file(dir: &Path, acked: &Acked) -> std::io::Result<()> {
    let target = path(dir);
    let aside = dir.join(format!("{FILE}.new"));
    let mut text = serde_json::to_vec_pretty(acked).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let mut file = std::fs::File::create(&aside)?;
    file.write_all(&text)?;
    file.sync_all()?;
    std::fs::rename(&aside, &target)?;
    std::fs::File::open(dir)?.sync_all()
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(id: Option<&str>, n: u64) -> Acked {
        Acked {
            store_id: id.map(String::from),
            acknowledged: n,
            newest_request: None,
        }
    }

    #[test]
    fn a_store_behind_its_control_file_is_named_with_what_is_lost() {
        let m = missing(&acked(Some("A"), 1234), &acked(Some("A"), 1000)).unwrap();
        assert!(m.contains("1,234 acknowledged"), "{m}");
        assert!(m.contains("234 lost"), "{m}");
        assert!(missing(&acked(Some("A"), 5), &acked(Some("A"), 5)).is_none());
        assert!(missing(&acked(Some("A"), 5), &acked(None, 0)).is_some());
        assert!(missing(&acked(Some("A"), 0), &acked(Some("B"), 9)).is_some());
    }
}
