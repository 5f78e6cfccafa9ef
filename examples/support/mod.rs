//! What the floor servers (`bare_warp`, `log_floor`) share: hookflow's allocator, its port
//! argument and its connection loop around the route under test, so that their figures and
//! hookflow's compare like with like.
use hookflow::http::server::{serve, ConnLimits};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// The allocator the `hookflow` binary uses (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The port in `arg`, or the exit code of a usage error naming `name`.
pub fn port(name: &str, arg: &str) -> Result<u16, ExitCode> {
    arg.parse::<u16>().map_err(|_| {
        eprintln!("{name}: the port must be a number from 0 to 65535, got '{arg}'");
        ExitCode::from(2)
    })
}

/// Serves `route` on 127.0.0.1:`port` through hookflow's connection loop (hyper-util, header
/// timeout, connection cap) on a multi-thread tokio runtime until SIGTERM or Ctrl-C.
pub fn serve_route(
    name: &str,
    port: u16,
    route: impl FnOnce() -> BoxedFilter<(Response,)>,
) -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{name}: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        let limits = ConnLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
        };
        println!("listening on http://{addr}");
        let shutdown = async {
            hookflow::app::shutdown_signal().await;
            Duration::from_secs(1)
        };
        serve(listener, route(), limits, shutdown).await;
        ExitCode::SUCCESS
    })
}
