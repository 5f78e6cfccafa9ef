//! Every version of every workflow and sequence file that was ever loaded, by hash, so a run or
//! enrolment can finish on the version it started with after the file changed.

use super::{Store, StoreResult};

fn key(id: &str, version: &str) -> Vec<u8> {
    format!("{id}\0{version}").into_bytes()
}

impl Store {
    /// Remembers a file's text under its version hash (idempotent).
    pub fn save_version(&self, id: &str, version: &str, source: &str) -> StoreResult<()> {
        let k = key(id, version);
        if self.trees.versions.get(&k)?.is_none() {
            self.trees.versions.insert(k, source.as_bytes())?;
        }
        Ok(())
    }

    /// The text of a stored version.
    pub fn version_source(&self, id: &str, version: &str) -> StoreResult<Option<String>> {
        Ok(self
            .trees
            .versions
            .get(key(id, version))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }
}
