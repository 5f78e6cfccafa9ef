//! Workflow and sequence definitions: YAML as the marketer wrote it (`def`), checked and resolved
//! into ready-to-run values (`model`), loaded from a directory into a `Catalog` (`load`).

pub mod model;

pub use model::*;
