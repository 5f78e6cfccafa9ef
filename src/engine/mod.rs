//! The workflow engine: template context and rendering, steps, run positions, the executor, the
//! worker that feeds it from the queue, enrolments, waits and the timers that resume them.

pub mod context;
pub mod email;
pub mod enrol;
pub mod events;
pub mod executor;
pub mod outcome;
pub mod run;
pub mod scheduler;
pub mod sequence_runner;
pub mod simulate;
pub mod steps;
pub mod template;
pub mod wait;
pub mod worker;
