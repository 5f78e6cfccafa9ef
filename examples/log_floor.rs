//! What durable ingest costs without sled: `bare_warp`'s stack (the same connection loop,
//! runtime and allocator) where each POST's body is appended to one file, as a record with its
//! length, a CRC32 and a 16-byte id, by one committer thread that writes every record waiting
//! and calls `fdatasync` once for them all before any of them is answered 200 — the group
//! commit hookflow does, with an append-only log in place of sled's transaction and flush.
//! Run beside `bare_warp` and hookflow's draft workflow, it tells how much of the gap between
//! them a request log of hookflow's own in front of sled could close.
//!   cargo run --release --example log_floor -- 18081 /tmp/log_floor.bin
mod support;

use std::io::Write;
use tokio::sync::{mpsc, oneshot};
use warp::{Filter, Reply};

type Job = (bytes::Bytes, oneshot::Sender<()>);

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: log_floor PORT FILE");
        return std::process::ExitCode::from(2);
    };
    let port = match support::port("log_floor", &port) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("log_floor: cannot create {path}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let (tx, rx) = mpsc::unbounded_channel::<Job>();
    std::thread::Builder::new()
        .name("log-commit".into())
        .spawn(move || commit_forever(file, rx))
        .expect("the committer thread");
    support::serve_route("log_floor", port, move || {
        warp::post()
            .and(warp::body::bytes())
            .then(move |body: bytes::Bytes| {
                let tx = tx.clone();
                async move {
                    let (done, synced) = oneshot::channel();
                    if tx.send((body, done)).is_err() || synced.await.is_err() {
                        return warp::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    warp::reply::json(&serde_json::json!({"status": "accepted"})).into_response()
                }
            })
            .boxed()
    })
}

/// Writes every record waiting, syncs once, then answers them all.
fn commit_forever(mut file: std::fs::File, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut seq: u128 = 0;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut waiting = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        waiting.push(first);
        while let Ok(job) = rx.try_recv() {
            waiting.push(job);
        }
        buf.clear();
        for (body, _) in &waiting {
            seq += 1;
            let mut crc = flate2::Crc::new();
            crc.update(body);
            buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc.sum().to_le_bytes());
            buf.extend_from_slice(&seq.to_be_bytes());
            buf.extend_from_slice(body);
        }
        file.write_all(&buf).expect("the log is written");
        file.sync_data().expect("the log is synced");
        for (_, done) in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
