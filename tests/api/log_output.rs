//! The log on a stderr that does not keep up: requests are answered anyway, the lines that did
//! not fit are counted in `/metrics` and named in the log once it drains.

use crate::helpers::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

/// A server whose stderr is a pipe nobody reads yet (`serve 2>&1 | less`, paused).
fn serve_with_stalled_stderr() -> (Raw, String) {
    let opts = RawOptions {
        workflow: "name: Open hook\nstatus: draft\nsteps: []\n",
        listen: "127.0.0.1:0",
        args: &[],
        shell: "",
        env: &[],
    };
    let server = serve_raw_with(&opts, Some(Stdio::piped()));
    let base = format!("http://{}", server.addr);
    (server, base)
}

/// Posts `n` bookings, 8 at a time, each given 10 s and all of them a minute; returns how
/// many were answered 200.
async fn post_many(client: &reqwest::Client, url: &str, n: usize) -> usize {
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    futures_util::stream::iter(0..n)
        .map(|i| {
            let body = format!(r#"{{"patient_email":"p{i}@example.com","event":"booked"}}"#);
            client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .timeout(Duration::from_secs(10))
                .send()
        })
        .buffer_unordered(8)
        .take_until(deadline)
        .filter(|r| std::future::ready(matches!(r, Ok(r) if r.status() == 200)))
        .count()
        .await
}

async fn dropped_lines(client: &reqwest::Client, base: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("hookflow_log_lines_dropped_total "))
        .unwrap_or_else(|| panic!("no dropped-lines counter in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_stderr_nobody_reads_holds_up_no_request_and_the_log_says_what_it_dropped() {
    let (mut server, base) = serve_with_stalled_stderr();
    let client = reqwest::Client::new();
    let list: Value = client
        .get(format!("{}/api/workflows", base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = list["items"][0]["url"].as_str().unwrap().to_string();

    // Each answer logs a line of ~150 bytes: a pipe holds 64 KiB, so a log written from the
    // request handlers would stop them after a few hundred.
    let first = 1_000;
    assert_eq!(post_many(&client, &url, first).await, first);
    assert_eq!(dropped_lines(&client, &base).await, 0);

    // Past the writer's buffer lines are dropped, never waited for.
    let mut more = 0;
    let mut dropped = 0;
    while dropped == 0 && more < 30_000 {
        assert_eq!(post_many(&client, &url, 1_000).await, 1_000);
        more += 1_000;
        dropped = dropped_lines(&client, &base).await;
    }
    assert!(
        dropped > 0,
        "nothing dropped after {} requests",
        first + more
    );

    // The reader comes back: the log resumes and says, where the gap is, how many it missed.
    let mut stderr = server.child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut buf = [0u8; 65536];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
            let _ = tx.send(String::from_utf8_lossy(&text).into_owned());
        }
    });
    // Lines sent while the buffer is still full are dropped too: post until a line gets through
    // after the gap, then one more whose line must show.
    let mut posted = first + more;
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !seen.contains("log lines dropped here") && std::time::Instant::now() < deadline {
        assert_eq!(post_many(&client, &url, 1).await, 1);
        posted += 1;
        while let Ok(text) = rx.recv_timeout(Duration::from_millis(100)) {
            seen = text;
        }
    }
    assert!(
        seen.contains("log lines dropped here"),
        "no notice of dropped lines in the log's end:\n{}",
        &seen[seen.len().saturating_sub(2000)..]
    );
    assert_eq!(post_many(&client, &url, 1).await, 1);
    posted += 1;
    dropped = dropped_lines(&client, &base).await;
    let count = |text: &str| text.matches("request stored").count();
    while count(&seen) as u64 + dropped < posted as u64 && std::time::Instant::now() < deadline {
        if let Ok(text) = rx.recv_timeout(Duration::from_millis(100)) {
            seen = text;
        }
    }
    // Every request's line is either in the log or counted in a notice, and the notices add
    // up to the counter.
    let noticed: u64 = seen
        .lines()
        .filter_map(|l| l.strip_prefix("hookflow: "))
        .filter_map(|l| l.split_once(" log lines dropped here"))
        .map(|(n, _)| n.parse::<u64>().unwrap())
        .sum();
    assert_eq!(noticed, dropped);
    assert_eq!(count(&seen) as u64 + dropped, posted as u64);
}
