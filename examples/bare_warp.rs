//! The ceiling of hookflow's HTTP stack: the same warp filter machinery and the same connection
//! loop (`hookflow::http::server::serve`: hyper-util's auto builder, header timeout, connection
//! cap) on the same multi-thread tokio runtime and allocator, answering any POST on any path with 200 and a
//! small JSON body once the body is read, and storing nothing. `scripts/bench.sh` measures
//! hookflow against it.
//!   cargo run --release --example bare_warp -- 18080     (or BARE_WARP_PORT=18080; default 8788)
use hookflow::http::server::{serve, ConnLimits};
use std::net::SocketAddr;
use std::time::Duration;
use warp::{Filter, Reply};

/// The allocator the `hookflow` binary uses (src/main.rs), so the figures compare like with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BARE_WARP_PORT").ok())
        .unwrap_or_else(|| "8788".into());
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("bare_warp: the port must be a number from 0 to 65535, got '{port}'");
        return std::process::ExitCode::from(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(run(SocketAddr::from(([127, 0, 0, 1], port))))
}

async fn run(addr: SocketAddr) -> std::process::ExitCode {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bare_warp: cannot listen on {addr}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    // The body is read in full, as hookflow reads it, so the two do the same network work.
    let route = warp::post()
        .and(warp::body::bytes())
        .map(|_body: bytes::Bytes| {
            warp::reply::json(&serde_json::json!({"status": "accepted"})).into_response()
        })
        .boxed();
    let limits = ConnLimits {
        header_timeout: Duration::from_secs(10),
        max_connections: 4096,
    };
    println!("listening on http://{addr}");
    let shutdown = async {
        hookflow::app::shutdown_signal().await;
        Duration::from_secs(1)
    };
    serve(listener, route, limits, shutdown).await;
    std::process::ExitCode::SUCCESS
}
