//! The workflow engine: template context, mapping, steps and runs.

pub mod context;
pub mod run;
pub mod executor;
pub mod worker;
pub mod steps;
