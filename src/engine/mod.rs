//! The workflow engine: template context and rendering (`context`, `template`), what each step
//! kind does (`step/`), a run's position in its steps (`position`), the executor that moves runs,
//! enrolment steps and dry runs (`executor/`), the worker that feeds it from the queue, waits and
//! the timers that resume them (`scheduler`).

pub mod context;
pub mod events;
pub mod executor;
pub mod position;
pub mod scheduler;
pub mod step;
pub mod template;
pub mod wait;
pub mod worker;
