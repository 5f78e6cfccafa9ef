//! The connection loop: hyper-util's server builder around the warp filter, with a header-read
//! timeout (warp alone keeps a half-sent request open forever), a cap on open connections and
//! graceful shutdown.
//!
//! hyper's own header timeout only starts once the auto builder has seen enough bytes to tell
//! HTTP/1 from HTTP/2, so a connection that never sends a byte would stay open forever: each
//! connection therefore also gets a deadline for its first request, counted from the accept.
//! Past `max_connections` a new connection is closed at once, so a flood of idle sockets cannot
//! use up the file descriptors the connections already open need.

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// The peer address of a connection, put in each request's extensions for the handlers.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// How long and how many connections may stay open.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Time to send a complete request header, from the accept or the previous answer.
    pub header_timeout: Duration,
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
}

/// Serves `filter` on `listener` until `shutdown` resolves, then lets open requests finish for
/// at most the time `shutdown` resolved with.
pub async fn serve(
    listener: TcpListener,
    filter: BoxedFilter<(Response,)>,
    limits: ConnLimits,
    shutdown: impl Future<Output = Duration>,
) {
    let header_timeout = limits.header_timeout;
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refused = AtomicU64::new(0);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    // Connections accepted whose first request has not been read yet (see the stop below).
    let waiting = Arc::new(AtomicUsize::new(0));
    let mut shutdown = std::pin::pin!(shutdown);
    let drain;
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            time = &mut shutdown => {
                drain = time;
                break;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            // Dropping the stream closes it: the open connections keep their descriptors.
            let n = refused.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    refused = n,
                    max = limits.max_connections,
                    "too many open connections: closing new ones (see --max-connections)"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let started = Arc::new(AtomicBool::new(false));
        waiting.fetch_add(1, Ordering::Relaxed);
        // Whoever sets `started` first counts the connection out of `waiting`, once.
        let count_out = {
            let waiting = waiting.clone();
            move |started: &AtomicBool| {
                if !started.swap(true, Ordering::Relaxed) {
                    waiting.fetch_sub(1, Ordering::Relaxed);
                }
            }
        };
        let seen = started.clone();
        let count_seen = count_out.clone();
        let svc = warp::service(filter.clone()).map_request(
            move |mut req: http::Request<hyper::body::Incoming>| {
                count_seen(&seen);
                req.extensions_mut().insert(ClientAddr(remote));
                req
            },
        );
        let svc = TowerToHyperService::new(svc);
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = &mut conn => Some(ended),
                _ = tokio::time::sleep(header_timeout) => {
                    if !started.load(Ordering::Relaxed) {
                        tracing::debug!("closing a connection that sent no request in time");
                        None
                    } else {
                        // After its first request, hyper's own timeout watches the connection.
                        Some(conn.await)
                    }
                }
            };
            count_out(&started);
            if let Some(Err(e)) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down: finishing open requests");
    // hyper's graceful shutdown closes a connection whose request it has not read yet as idle:
    // a sender that connected a moment before the stop would see its connection dropped. Such
    // connections get a moment to send it (the header timeout, at most 2 s) and are answered.
    let grace = Instant::now() + header_timeout.min(Duration::from_secs(2)).min(drain);
    while waiting.load(Ordering::Relaxed) > 0 && Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
}
