//! Workflow and sequence definitions: YAML as the marketer wrote it (`def`), checked and resolved
//! (`resolve`, `trigger`, `steps`, `names`) into ready-to-run values (`model`), loaded from a
//! directory into a `Catalog` (`load`). `paths` evaluates JSONPaths; `parse_error` explains YAML
//! slips, `suggest` finds what a typo meant, `templates` checks unused email templates, `lint`
//! compares paths with the captured reference and `report` prints diagnostics for `hookflow check`.

pub mod def;
pub mod lint;
pub mod live;
pub mod load;
pub mod model;
pub mod names;
mod parse_error;
pub mod paths;
pub mod report;
pub mod resolve;
pub mod steps;
pub mod suggest;
mod templates;
pub mod trigger;

pub use load::{load_dir, load_sequence_source, load_workflow_source};
pub use model::*;
pub use report::format_diagnostic;

#[cfg(test)]
mod tests;
