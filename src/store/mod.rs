//! Store.

pub mod contacts;
