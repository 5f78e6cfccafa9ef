//! hookflow: a local stand-in for GoHighLevel's inbound-webhook workflows.
//!
//! Dependencies point one way: `domain` (no I/O) → `workflow` (definitions) and `inbound`
//! (parsing and auth of raw requests) → `store` (sled) → `engine` (runs) → `http` → `app` → `cli`.

pub mod app;
pub mod cli;
pub mod domain;
pub mod engine;
pub mod events;
pub mod http;
pub mod inbound;
pub mod intake;
pub mod mail;
pub mod settings;
pub mod store;
pub mod workflow;
