//! Writing contacts as CSV without holding them: two lazy passes over sled, the first for the
//! custom field names (the header must list them), the second writing rows as it reads them.

use super::format::{contact_record, header_record};
use crate::store::contacts::{ContactError, ContactQuery, ContactTrees};
use std::collections::BTreeSet;
use std::io::Write;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] ContactError),
    /// The output refused bytes (a closed pipe, a full disk, a client gone).
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
}

impl ContactTrees {
    /// The custom field names of the contacts matching `query`, sorted: an export's extra
    /// columns. Holds the names only, never the contacts.
    pub fn export_columns(
        &self,
        query: &ContactQuery,
        region: &str,
    ) -> Result<Vec<String>, ContactError> {
        let mut names = BTreeSet::new();
        for contact in self.matching(query, region) {
            for key in contact?.custom.keys() {
                if !names.contains(key) {
                    names.insert(key.clone());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Writes the header and every contact matching `query`, oldest first, to `out`; returns
    /// how many contacts were written. `custom` comes from [`Self::export_columns`] (a custom
    /// field added between the two passes is left out).
    pub fn export_csv(
        &self,
        query: &ContactQuery,
        region: &str,
        custom: &[String],
        out: impl Write,
    ) -> Result<u64, ExportError> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(header_record(custom)).map_err(io)?;
        let mut written = 0;
        for contact in self.matching(query, region) {
            writer
                .write_record(contact_record(&contact?, custom))
                .map_err(io)?;
            written += 1;
        }
        writer.flush()?;
        Ok(written)
    }
}

/// The csv crate wraps the writer's I/O errors; unwrap them so a closed pipe stays visible.
fn io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}
