//! What arrives from a practice system: body parsing, field flattening for the reference
//! browser, and authentication of the sender. Pure functions, no storage.

pub mod auth;
pub mod body;
pub mod encoding;
pub mod fields;
pub mod strict_json;

#[cfg(test)]
mod tests;
