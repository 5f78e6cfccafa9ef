//! The admin API's JSON documents, built from the store and the catalog. The HTTP handlers
//! answer them; the CLI prints the same documents when no server answers and it opens the data
//! dir itself, so both show exactly the same thing.

pub mod clock;
pub mod cursor;
pub mod outbox;
pub mod reference;
pub mod requests;
pub mod runs;

use crate::store::outbox::OutboxError;
use crate::store::StoreError;

/// Why a document could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// A filter or cursor the caller got wrong (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// No record with that id (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The store could not be read (HTTP 503); the cause, for the log or the terminal.
    #[error("{0}")]
    Store(String),
}

impl From<StoreError> for ViewError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<OutboxError> for ViewError {
    fn from(e: OutboxError) -> Self {
        Self::Store(e.to_string())
    }
}

/// The result of building a document.
pub type ViewResult<T> = Result<T, ViewError>;

/// Refuses a `status` filter that is not one of `known`.
fn check_status(status: Option<&str>, known: &[&str]) -> ViewResult<()> {
    match status {
        Some(st) if !known.contains(&st) => Err(ViewError::BadRequest(format!(
            "unknown status `{st}`; use one of {}",
            known.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// A list's `?limit=`: default 50, between 1 and 1000.
pub fn page_limit(limit: Option<usize>) -> ViewResult<usize> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=1000) => Ok(n),
        Some(_) => Err(ViewError::BadRequest(
            "limit must be between 1 and 1000".into(),
        )),
    }
}
