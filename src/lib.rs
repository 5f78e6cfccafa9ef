//! hookflow: a local stand-in for GoHighLevel's inbound-webhook workflows.
//!
//! Layers, lowest first; each uses only those before it: `domain` (plain values, no I/O) →
//! `settings` (flags), `events`, `inbound` (parsing and auth of raw requests) → `store` (sled,
//! and only here) → `mail` (outbox delivery) → `workflow` (definitions) and `engine` (runs) →
//! `intake` (accepting requests) → `views` (the admin API's documents) → `http` → `app` → `cli`. (`workflow` and `engine::template`
//! still use each other: the loader checks templates with the engine's renderer.)

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
pub mod views;
pub mod workflow;
