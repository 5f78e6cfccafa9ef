//! hookflow: a local stand-in for GoHighLevel's inbound-webhook workflows.
//!
//! Layers, lowest first; each uses only those before it: `domain` (plain values, no I/O),
//! `metrics` (the `/metrics` series) and `niceness` (background threads' CPU priority) →
//! `settings` (flags), `events`, `sender` (what a sender sends: body parsing, auth) → `store` (sled,
//! and only here) → `mail` (outbox delivery) → `workflow` (definitions) and `engine` (runs) →
//! `intake` (accepting requests) → `views` (the admin API's documents) → `http` → `app` → `cli`. (`workflow` and `engine::template`
//! still use each other: the loader checks templates with the engine's renderer.)
//!
//! Tests: a module's unit tests are its child `tests` module — inline when short, else
//! `foo/tests.rs`, or `foo/tests/` with one file per theme; the whole binary is tested from
//! `tests/api/` (one test binary, by feature) and `tests/browser/` (the admin page).

pub mod allocator;
pub mod app;
pub mod cli;
pub mod domain;
pub mod engine;
pub mod events;
pub mod http;
pub mod intake;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod niceness;
pub mod sender;
pub mod settings;
pub mod store;
pub mod views;
pub mod workflow;
