//! What one durable flush costs on this machine's disk: sled insert + `flush`, one record per
//! flush and 32 per flush (what group commit shares among 32 connections).
//!   cargo run --release --example sled_flush
use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [sled::Mode::HighThroughput, sled::Mode::LowSpace] {
        let db = sled::Config::new()
            .path(dir.path().join(format!("{mode:?}")))
            .mode(mode)
            .open()
            .unwrap();
        let t = db.open_tree("x").unwrap();
        let v = vec![7u8; 1500];
        let start = Instant::now();
        for i in 0..2000u64 {
            t.insert(i.to_be_bytes(), v.clone()).unwrap();
            db.flush().unwrap();
        }
        println!(
            "{mode:?}: flush after each insert: {:.3} ms",
            start.elapsed().as_secs_f64() * 1000.0 / 2000.0
        );
        let start = Instant::now();
        for i in 0..2000u64 {
            for j in 0..32u64 {
                t.insert((i * 100 + j + 1_000_000).to_be_bytes(), v.clone())
                    .unwrap();
            }
            db.flush().unwrap();
        }
        println!(
            "{mode:?}: flush per 32 inserts: {:.3} ms",
            start.elapsed().as_secs_f64() * 1000.0 / 2000.0
        );
    }
}
