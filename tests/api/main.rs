//! Integration tests: the real `hookflow` binary on a loopback port with a temp data dir,
//! driven over HTTP. One test binary for all of them.

mod helpers;
#[path = "../smtp/mod.rs"]
mod smtp;

mod admin;
mod capture;
mod capture_samples;
mod cli;
mod cli_views;
mod crash;
mod durability;
mod email;
mod matching;
mod numbers;
mod page;
mod reload;
mod runs;
mod samples;
mod sequences;
mod typical_flow;
