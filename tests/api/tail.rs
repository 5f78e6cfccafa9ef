//! `hookflow tail` as a user runs it: one line per event, through a server restart.

use crate::helpers::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `hookflow serve` on a fixed port (so a restart keeps the URL); returns it and its
/// base URL once it listens.
pub fn serve_on(port: u16, data: &std::path::Path, env: &[(&str, &str)]) -> (Killed, String) {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_hookflow"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .arg("--workflows")
            .arg(repo().join("workflows"))
            .env_remove("HOOKFLOW_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = lines_of(&mut child.0);
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("server started");
    let base = first.strip_prefix("listening on ").unwrap().to_string();
    (child, base)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed when dropped, so a failing test leaves none behind.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a child's stdout lines on a thread.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads a child's stderr lines (tail's notes: connecting, reconnected) on a thread.
fn notes_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains(needle) {
            return line;
        }
    }
    panic!("tail printed no line with {needle}");
}

/// POSTs the booking sample to `url`; returns the answer's request id.
async fn post_booking(url: &str) -> String {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(sample("optimantra/booking.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    answer["request_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tail_prints_each_event_and_follows_the_server_through_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let (server, base) = serve_on(port, data.path(), &[]);
    let workflows: Value = reqwest::get(format!("{base}/api/workflows/optimantra-booking"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hook = workflows["url"].as_str().unwrap().to_string();
    let mut tail = Killed(
        Command::new(env!("CARGO_BIN_EXE_hookflow"))
            .args(["tail", "--server", &base])
            .env_remove("HOOKFLOW_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = lines_of(&mut tail.0);
    let notes = notes_of(&mut tail.0);
    // tail follows from "now": post until it shows a request (it may still be connecting, or
    // connect between a request and its run).
    let mut line = None;
    for _ in 0..50 {
        post_booking(&hook).await;
        while let Ok(l) = lines.recv_timeout(Duration::from_millis(300)) {
            if l.contains("  request   ") {
                line = Some(l);
                break;
            }
        }
        if line.is_some() {
            break;
        }
    }
    let line = line.expect("tail printed no request");
    assert!(line.contains("  request   optimantra-booking"), "{line}");
    assert!(line.contains("accepted") && line.contains("200"), "{line}");
    let run = wait_line(&lines, "  run   ");
    assert!(run.contains("optimantra-booking"), "{run}");

    // The server goes away and comes back on the same address: tail carries on by itself.
    drop(server);
    let (_server, _) = serve_on(port, data.path(), &[]);
    // Events published before tail is back are not replayed (a restarted server's ids start
    // again), so post once it says it reconnected.
    wait_line(&notes, "reconnected");
    let id = post_booking(&hook).await;
    let line = wait_line(&lines, &id);
    assert!(
        line.contains("  request   ") && line.contains("accepted"),
        "{line}"
    );
}
