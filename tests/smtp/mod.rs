//! Test helpers: the real SMTP sink (`sink.py`, aiosmtpd) as a subprocess, a minimal reader for
//! the `.eml` files it and the outbox write, and test certificates (`certs`).

#[allow(dead_code)]
pub mod certs;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `sink.py`; killed when dropped.
pub struct Sink {
    child: Child,
    dir: PathBuf,
}

/// One message the sink accepted.
pub struct Captured {
    /// The envelope recipients (RCPT TO).
    pub rcpt_tos: Vec<String>,
    /// The message as received.
    pub eml: Eml,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("cannot bind a local port for the SMTP sink")
        .port()
}

impl Sink {
    /// Starts the sink on `port`, storing messages in `dir`; `extra` are sink.py flags.
    pub fn start(port: u16, dir: &Path, extra: &[&str]) -> Sink {
        require_aiosmtpd();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start python3 tests/smtp/sink.py");
        let stdout = child.stdout.take().expect("sink stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.trim() == "ready" {
                    let _ = tx.send(());
                }
            }
        });
        let sink = Sink {
            child,
            dir: dir.to_path_buf(),
        };
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the SMTP sink did not print `ready` (see its stderr above)");
        sink
    }

    /// The messages accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<Captured> {
        let mut out = Vec::new();
        for n in 1.. {
            let eml = self.dir.join(format!("{n}.eml"));
            let Ok(raw) = std::fs::read(&eml) else { break };
            let meta = std::fs::read_to_string(self.dir.join(format!("{n}.json")))
                .expect("each .eml has its envelope sidecar");
            let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
            let rcpt_tos = meta["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            out.push(Captured {
                rcpt_tos,
                eml: Eml::parse(&String::from_utf8(raw).expect("messages are ASCII")),
            });
        }
        out
    }

    /// Every AUTH attempt the sink saw (`--auth`): login, password, mechanism and whether TLS
    /// was on.
    #[allow(dead_code)]
    pub fn auth_attempts(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("auth.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("auth.jsonl holds JSON lines"))
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails (never skips) when the sink cannot run, saying how to fix it.
fn require_aiosmtpd() {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the mail tests need python3 with aiosmtpd for a real SMTP server: run `pip install aiosmtpd`"
    );
}

/// A parsed message: unfolded headers and the body, with multipart/alternative split.
pub struct Eml {
    headers: Vec<(String, String)>,
    body: String,
}

impl Eml {
    /// Splits headers from body (at the first empty line) and unfolds continuation lines.
    pub fn parse(raw: &str) -> Eml {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw
            .split_once("\n\n")
            .expect("a message has a blank line after its headers");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                let last = headers.last_mut().expect("a continuation follows a header");
                last.1.push(' ');
                last.1.push_str(line.trim());
            } else {
                let (name, value) = line.split_once(':').expect("a header line has a colon");
                headers.push((name.to_string(), value.trim().to_string()));
            }
        }
        Eml {
            headers,
            body: body.to_string(),
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded body of the part with this content type (`text/plain`, `text/html`),
    /// whether the message is single-part or multipart.
    pub fn part(&self, content_type: &str) -> Option<String> {
        let ct = self.header("Content-Type").unwrap_or("text/plain");
        if let Some(boundary) = ct.split("boundary=").nth(1) {
            let boundary = format!("--{}", boundary.trim_matches('"'));
            return self
                .body
                .split(&boundary)
                .filter(|p| !p.trim().is_empty() && !p.starts_with("--"))
                .map(|p| Eml::parse(p.trim_start_matches('\n')))
                .find_map(|p| p.part(content_type));
        }
        ct.starts_with(content_type).then(|| self.decoded_body())
    }

    fn decoded_body(&self) -> String {
        match self.header("Content-Transfer-Encoding") {
            Some(cte) if cte.eq_ignore_ascii_case("quoted-printable") => qp_decode(&self.body),
            _ => self.body.clone(),
        }
    }
}

fn qp_decode(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = std::str::from_utf8(bytes.get(i + 1..i + 3).unwrap_or(b""))
            .ok()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("the test bodies are UTF-8")
}
