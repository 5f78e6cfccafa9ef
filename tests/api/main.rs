//! Integration tests: the real `hookflow` binary on a loopback port with a temp data dir,
//! driven over HTTP. One test binary for all of them.

mod helpers;

mod admin;
mod capture;
mod crash;
mod durability;
mod matching;
mod runs;
mod samples;
