//! Unit tests of the inbound module, one file per source file.

mod auth;
mod body;
mod fields;
mod strict_json;
