//! Store.

pub mod outbox;
