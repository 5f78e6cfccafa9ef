//! What arrives from a practice system: body parsing, field flattening for the reference
//! browser, and authentication of the sender. Pure functions, no storage.

pub mod auth;
