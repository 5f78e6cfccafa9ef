//! The workflow engine: template context and rendering, steps, run positions, the executor and
//! the worker that feeds it from the queue.

pub mod context;
pub mod email;
pub mod executor;
pub mod run;
pub mod simulate;
pub mod steps;
pub mod template;
pub mod worker;
