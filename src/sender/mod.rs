//! What a sender (a practice system) sends and how it is read: body parsing, field flattening for
//! the reference browser, and authentication of the sender. Pure functions, no storage; the
//! acceptance pipeline that uses them is `intake`.

pub mod auth;
pub mod body;
pub mod encoding;
pub mod fields;
/// Strict JSON lives in `domain` (the store parses a stored body again with it).
pub use crate::domain::strict_json;

#[cfg(test)]
mod tests;
