//! The ceiling of hookflow's HTTP stack: the same warp filter machinery and the same connection
//! loop (`hookflow::http::server::serve`: hyper-util's auto builder, header timeout, connection
//! cap) on the same multi-thread tokio runtime and allocator, answering any POST on any path with 200 and a
//! small JSON body once the body is read, and storing nothing. `scripts/bench.sh` measures
//! hookflow against it.
//!   cargo run --release --example bare_warp -- 18080     (or BARE_WARP_PORT=18080; default 8788)
mod support;

use warp::{Filter, Reply};

fn main() -> std::process::ExitCode {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BARE_WARP_PORT").ok())
        .unwrap_or_else(|| "8788".into());
    let port = match support::port("bare_warp", &port) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // The body is read in full, as hookflow reads it, so the two do the same network work.
    support::serve_route("bare_warp", port, || {
        warp::post()
            .and(warp::body::bytes())
            .map(|_body: bytes::Bytes| {
                warp::reply::json(&serde_json::json!({"status": "accepted"})).into_response()
            })
            .boxed()
    })
}
