//! Runs.
pub mod template;
