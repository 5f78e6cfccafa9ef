//! Unit tests of the inbound module, one file per source file.

mod auth;
mod body;
mod encoding;
mod fields;
mod strict_json;
