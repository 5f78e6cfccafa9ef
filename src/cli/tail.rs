//! `hookflow tail [--workflow W]`: follows `/api/events` and prints one line per event as it
//! happens, like `stripe listen`. When the stream drops or the server restarts it reconnects by
//! itself, sending `Last-Event-ID` so that nothing recent is missed.

use super::client::ApiClient;
use super::sse::{SseEvent, SseParser};
use super::table::text;
use crate::outln;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// Only this workflow's events.
    #[arg(long)]
    pub workflow: Option<String>,
}

/// Why a connection ended.
enum Ended {
    /// The stream dropped or never opened: try again.
    Retry(String),
    /// The server refused for good (wrong token, no such route).
    Fatal(String),
}

/// Follows the events until Ctrl-C (or an answer that retrying cannot fix).
pub async fn run(server: &str, json: bool, args: &TailArgs) -> anyhow::Result<ExitCode> {
    let api = ApiClient::new(server);
    // No overall timeout: the stream lasts. A read that waits past three keep-alives means a
    // dead connection.
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(45))
        .build()?;
    let mut url = format!("{}/api/events", api.base());
    if let Some(w) = &args.workflow {
        url.push_str(&format!(
            "?workflow={}",
            url::form_urlencoded::byte_serialize(w.as_bytes()).collect::<String>()
        ));
    }
    eprintln!("following {url} (Ctrl-C to stop)");
    let mut last_id: Option<String> = None;
    let mut failures = 0u32;
    loop {
        let mut req = http.get(&url).header("accept", "text/event-stream");
        if let Some(t) = api.token() {
            req = req.bearer_auth(t);
        }
        if let Some(id) = &last_id {
            req = req.header("last-event-id", id);
        }
        match follow(req, json, &mut last_id, &mut failures).await {
            Ended::Fatal(msg) => anyhow::bail!("{msg}"),
            Ended::Retry(why) => {
                if failures == 0 {
                    eprintln!("{why}; reconnecting…");
                }
                failures += 1;
                let wait = Duration::from_millis(250 * u64::from(failures.min(8)));
                tokio::time::sleep(wait).await;
            }
        }
    }
}

async fn follow(
    req: reqwest::RequestBuilder,
    json: bool,
    last_id: &mut Option<String>,
    failures: &mut u32,
) -> Ended {
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_timeout() => {
            return Ended::Retry("no server answers".into())
        }
        Err(e) => return Ended::Retry(format!("connection failed: {e}")),
    };
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Ended::Fatal(
            "401: the server wants the admin token: set HOOKFLOW_ADMIN_TOKEN".into(),
        );
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ended::Fatal("404: this server has no /api/events (an older hookflow?)".into());
    }
    if !status.is_success() {
        return Ended::Retry(format!("the server answered {status}"));
    }
    if *failures > 0 {
        eprintln!("reconnected");
    }
    *failures = 0;
    let mut parser = SseParser::default();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                for event in parser.push(&chunk) {
                    if let Some(id) = &event.id {
                        *last_id = Some(id.clone());
                    }
                    print_event(&event, json);
                }
            }
            Ok(None) => return Ended::Retry("the server closed the stream".into()),
            Err(e) => return Ended::Retry(format!("the stream broke: {e}")),
        }
    }
}

fn print_event(event: &SseEvent, json: bool) {
    let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    if json {
        outln!("{}", event.data);
    } else {
        outln!("{}", line(&event.event, &data));
    }
}

/// One readable line: time, kind, workflow, status, ids; for a run, its failing step and error.
pub fn line(kind: &str, e: &Value) -> String {
    let time = clock_time(e["at"].as_str().unwrap_or(""));
    let (status, detail) = match kind {
        "request" => {
            let runs: Vec<&str> = e["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["run_id"].as_str())
                .collect();
            let mut d = format!("{} {}", text(&e["http_status"]), text(&e["request_id"]));
            if let Some(r) = e["reason"].as_str() {
                d.push_str(&format!(" ({r})"));
            }
            if !runs.is_empty() {
                d.push_str(&format!(" → run {}", runs.join(", ")));
            }
            (text(&e["status"]), d)
        }
        "run" => {
            let mut d = format!("{} request {}", text(&e["run_id"]), text(&e["request_id"]));
            if let Some(c) = e["contact_id"].as_str() {
                d.push_str(&format!(" contact {c}"));
            }
            let step = &e["step"];
            if step.is_object() {
                d.push_str(&format!(" at {} {}", step["path"], text(&step["kind"])));
                if let Some(err) = step["error"].as_str() {
                    d.push_str(&format!(": {err}"));
                }
            }
            (text(&e["status"]), d)
        }
        "email" => (
            text(&e["state"]),
            format!(
                "{} run {} attempts {}",
                text(&e["email_id"]),
                text(&e["run_id"]),
                text(&e["attempts"])
            ),
        ),
        "timer" => {
            let owner = match e["run_id"].as_str() {
                Some(r) => format!("run {r}"),
                None => format!(
                    "{} contact {}",
                    text(&e["sequence"]),
                    text(&e["contact_id"])
                ),
            };
            (
                text(&e["state"]),
                format!(
                    "{} {} due {} {owner}",
                    text(&e["timer_id"]),
                    text(&e["kind"]),
                    text(&e["due_at"])
                ),
            )
        }
        "workflow" => (
            text(&e["change"]),
            format!("{} {}", text(&e["kind"]), text(&e["status"])),
        ),
        "lost" => {
            return format!(
                "lost events {}–{}: this reader was too slow; reload the lists",
                text(&e["from"]),
                text(&e["to"])
            )
        }
        other => (other.to_string(), e.to_string()),
    };
    let workflow = text(&e["workflow"]);
    format!("{time}  {kind:<8}  {workflow:<24}  {status:<9}  {detail}")
}

/// `HH:MM:SS.mmm` of an RFC 3339 time (whose fraction may be shorter or absent).
fn clock_time(at: &str) -> String {
    let Some(hms) = at.get(11..19) else {
        return "--:--:--.---".into();
    };
    let fraction: String = at[19..]
        .strip_prefix('.')
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .chain(std::iter::repeat('0'))
        .take(3)
        .collect();
    format!("{hms}.{fraction}")
}
