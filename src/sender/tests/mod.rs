//! Unit tests of the sender module, one file per source file.

mod auth;
mod body;
mod encoding;
mod fields;
mod strict_json;
