//! The workflow engine: template context, mapping, steps and runs.

pub mod context;
