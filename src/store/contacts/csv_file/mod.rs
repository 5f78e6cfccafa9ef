//! Contacts as CSV with GHL's column names (DESIGN.md "Contacts CSV"): `format` reads and
//! writes rows and depends on the domain only; `import` applies a file in batches of
//! transactions, whose rows `prepare` reads and encodes ahead on a thread of their own;
//! `export` streams contacts out of sled.

mod check;
mod export;
mod format;
mod import;
mod prepare;

pub use check::FileCheck;
pub use export::ExportError;
pub use format::COLUMNS;
pub use import::{ImportReport, RowNote};

#[cfg(test)]
mod tests;
