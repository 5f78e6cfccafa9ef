//! Integration tests: the real `hookflow` binary on a loopback port with a temp data dir,
//! driven over HTTP. One test binary for all of them.

mod helpers;
#[path = "../smtp/mod.rs"]
mod smtp;
mod start_up;

mod admin;
mod backup;
mod capture;
mod capture_reference;
mod capture_samples;
mod check;
mod cli;
mod cli_offline;
mod cli_views;
mod compaction;
mod contacts_cli;
mod contacts_csv;
mod crash;
mod dictionary;
mod drafts;
mod durability;
mod edges;
mod edges_admin;
mod email;
mod events;
mod full_disk;
mod hostile;
mod hostile_bodies;
mod indexes;
mod log_output;
mod lost_data;
mod mail_tls;
mod matching;
mod memory;
mod metrics;
mod numbers;
mod page;
mod reload;
mod retention;
mod runs;
mod samples;
mod sequences;
mod tail;
mod timeline;
mod typical_flow;
