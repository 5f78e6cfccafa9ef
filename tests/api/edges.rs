//! Hostile and careless clients at the edges: idle sockets, connection floods, the open-file
//! limit, the cache flag, and the admin token rules (cursors and content types: `edges_admin`).

use crate::helpers::*;
use crate::start_up::serve_refused;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OPEN: &str = "name: Open hook\nsteps: []\n";

/// `hookflow serve ARGS` on a fresh data dir; `shell` runs first in `sh` (e.g. a `ulimit`).
fn serve_raw(args: &[&str], shell: &str) -> Raw {
    serve_raw_on("127.0.0.1:0", args, shell, &[])
}

/// [`serve_raw`] listening on `listen`, with `env` set (the admin token is unset unless named).
fn serve_raw_on(listen: &str, args: &[&str], shell: &str, env: &[(&str, &str)]) -> Raw {
    let opts = RawOptions {
        workflow: OPEN,
        listen,
        args,
        shell,
        env,
    };
    serve_raw_with(&opts, None)
}

/// Sends one keep-alive `GET path` on `s` and returns the status line (None if closed).
async fn get_on(s: &mut TcpStream, path: &str) -> Option<String> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines()
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

/// Waits (at most `limit`) until the server closes `s`; returns how long that took.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_after_the_header_timeout() {
    let server = serve_raw(&[], "");
    let mut silent = TcpStream::connect(&server.addr).await.unwrap();
    // A partial HTTP/2 preface keeps hyper guessing the protocol: it must be closed too.
    let mut guessing = TcpStream::connect(&server.addr).await.unwrap();
    guessing.write_all(b"PRI * HT").await.unwrap();
    let (a, b) = tokio::join!(
        closed_within(&mut silent, Duration::from_secs(20)),
        closed_within(&mut guessing, Duration::from_secs(20)),
    );
    for (what, took) in [("silent", a), ("half a preface", b)] {
        let took = took.unwrap_or_else(|| panic!("{what} socket still open after 20 s"));
        assert!(
            took >= Duration::from_secs(9) && took <= Duration::from_secs(12),
            "{what} socket closed after {took:?}, expected about 10 s"
        );
    }
    let mut fresh = TcpStream::connect(&server.addr).await.unwrap();
    assert_eq!(
        get_on(&mut fresh, "/healthz").await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
}

#[tokio::test]
async fn past_max_connections_new_ones_are_closed_at_once_and_open_ones_keep_being_served() {
    let server = serve_raw(&["--max-connections", "5"], "");
    let mut kept = TcpStream::connect(&server.addr).await.unwrap();
    assert_eq!(
        get_on(&mut kept, "/healthz").await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    for n in 0..3 {
        let mut extra = TcpStream::connect(&server.addr).await.unwrap();
        let took = closed_within(&mut extra, Duration::from_secs(3)).await;
        assert!(
            took.is_some_and(|t| t < Duration::from_secs(2)),
            "extra connection {n} was not closed at once ({took:?})"
        );
        assert_eq!(
            get_on(&mut kept, "/healthz").await.as_deref(),
            Some("HTTP/1.1 200 OK"),
            "the connection opened first is still served"
        );
    }
    // The four idle ones were let in (the cap is 5, not less): each still gets an answer.
    for s in &mut idle {
        assert_eq!(
            get_on(s, "/healthz").await.as_deref(),
            Some("HTTP/1.1 200 OK")
        );
    }
    server_log_with(server.data.path(), "--max-connections").await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_open_file_soft_limit_is_raised_to_the_hard_limit_at_start() {
    let server = serve_raw(&[], "ulimit -S -n 64");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let nums: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(nums[0], nums[1], "soft limit equals hard limit: {line}");
    assert_ne!(nums[0], "64", "{line}");
    let log = server_log_with(server.data.path(), "open-file limit").await;
    assert!(
        log.lines()
            .any(|l| l.contains("open-file limit") && l.contains(nums[0])),
        "{log}"
    );
}

#[tokio::test]
async fn a_bad_cache_size_is_refused_at_start_with_the_units_to_use() {
    let (status, err) = serve_refused(&["--cache", "64MB"], &[]);
    assert!(!status.success());
    assert!(err.contains("--cache") && err.contains("MiB"), "{err}");
    let (status, err) = serve_refused(&[], &[("HOOKFLOW_CACHE", "lots")]);
    assert!(!status.success());
    assert!(err.contains("lots") && err.contains("KiB"), "{err}");
    let (status, err) = serve_refused(&["--cache", "0"], &[]);
    assert!(!status.success());
    assert!(err.contains("32MiB"), "{err}");
}

#[tokio::test]
async fn a_server_with_a_small_cache_keeps_and_serves_its_data() {
    let server = serve_raw(&["--cache", "512KiB"], "");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let request = client.get(format!("{base}{path}"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let list = get("/api/workflows").await;
    let url = list["items"][0]["url"].as_str().unwrap();
    for n in 0..20 {
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(json!({"n": n, "pad": "x".repeat(20_000)}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let page = get("/api/requests?limit=1000").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_a_401_names_it() {
    let server = serve_raw_on(
        "127.0.0.1:0",
        &[],
        "",
        &[("HOOKFLOW_ADMIN_TOKEN", "s3cret")],
    );
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/workflows", server.addr);
    for header in [
        "Bearer s3cret",
        "bearer s3cret",
        "BEARER s3cret",
        "Bearer  s3cret",
    ] {
        let r = client
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header}");
    }
    for header in [
        None,
        Some("Bearer wrong"),
        Some("Basic s3cret"),
        Some("s3cret"),
    ] {
        let mut req = client.get(&url);
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{header:?}");
        assert_eq!(
            r.headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap()),
            Some("Bearer"),
            "{header:?}"
        );
    }
}

#[tokio::test]
async fn a_blank_admin_token_is_refused_at_start() {
    for token in ["   ", "\t", ""] {
        let (status, err) = serve_refused(&[], &[("HOOKFLOW_ADMIN_TOKEN", token)]);
        assert!(!status.success(), "{token:?}");
        assert!(
            err.contains("HOOKFLOW_ADMIN_TOKEN") && err.contains("blank"),
            "{token:?}: {err}"
        );
    }
}

#[tokio::test]
async fn an_ipv4_mapped_loopback_address_counts_as_loopback() {
    let server = serve_raw_on("[::ffff:127.0.0.1]:0", &[], "", &[]);
    assert!(
        server.addr.starts_with("[::ffff:127.0.0.1]:"),
        "listening on {}",
        server.addr
    );
    let r = reqwest::get(format!("http://{}/healthz", server.addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
