//! `hookflow send WORKFLOW FILE`: posts a sample as its sender would, signed with the
//! workflow's auth unless `--no-auth`, and prints the answer.

use super::client::ApiClient;
use super::urls::workflow_urls;
use super::Offline;
use crate::domain::ids::new_ulid;
use crate::domain::time::wall_now_ms;
use crate::outln;
use crate::sender::auth::sign;
use crate::workflow::live::LiveCatalog;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Workflow id.
    pub workflow: String,
    /// Payload file: JSON, or form-urlencoded when it ends in `.form`.
    pub file: PathBuf,
    /// Query string to add (e.g. `src=GHL`).
    #[arg(long)]
    pub query: Option<String>,
    /// Send without the workflow's auth (to see a 401).
    #[arg(long)]
    pub no_auth: bool,
    #[command(flatten)]
    pub offline: Offline,
}

/// Posts the file and prints the status and answer; exit 1 unless the answer is 2xx.
pub async fn run(server: &str, json: bool, args: &SendArgs) -> anyhow::Result<ExitCode> {
    let body = std::fs::read(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let urls = workflow_urls(server, &args.offline).await?;
    let url = urls
        .iter()
        .find(|(id, _)| *id == args.workflow)
        .map(|(_, u)| u.clone())
        .with_context(|| format!("no workflow `{}`; see `hookflow urls`", args.workflow))?;
    let content_type = if args.file.extension().is_some_and(|e| e == "form") {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let mut query: Vec<(String, String)> = args
        .query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let client = ApiClient::new(server);
    let mut req = client
        .http()
        .post(&url)
        .header("content-type", content_type);
    if !args.no_auth {
        let catalog = LiveCatalog::load(&args.offline.workflows).current();
        let entry = catalog
            .workflows
            .iter()
            .find(|(id, _)| id.as_str() == args.workflow)
            .map(|(_, e)| e);
        if let Some(Ok(wf)) = entry.map(|e| &e.workflow) {
            let signed = sign(&wf.trigger.auth, &body, wall_now_ms() / 1000, &new_ulid());
            for (k, v) in signed.headers {
                req = req.header(k, v);
            }
            query.extend(signed.query);
        }
    }
    if !query.is_empty() {
        req = req.query(&query);
    }
    let resp = req
        .body(body)
        .send()
        .await
        .with_context(|| format!("could not post to {server}"))?;
    let status = resp.status();
    let answer: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    let runs = finished_runs(&client, &answer).await;
    if json {
        let out =
            serde_json::json!({"http_status": status.as_u16(), "answer": answer, "runs": runs});
        outln!("{out}");
    } else {
        outln!(
            "{} {}",
            status.as_u16(),
            serde_json::to_string_pretty(&answer)?
        );
        for run in &runs {
            print_run(run);
        }
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The runs the answer queued, once each has finished (or after a few seconds, as they are).
pub async fn finished_runs(
    client: &ApiClient,
    answer: &serde_json::Value,
) -> Vec<serde_json::Value> {
    let ids: Vec<String> = answer["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["run_id"].as_str().map(str::to_string))
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut out = Vec::new();
    for id in ids {
        loop {
            let run = client
                .get(&format!("/api/runs/{id}"))
                .await
                .unwrap_or_default();
            let done = matches!(
                run["status"].as_str(),
                Some("succeeded" | "failed" | "waiting")
            );
            if done || std::time::Instant::now() > deadline {
                out.push(run);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    out
}

/// `run ID status` then one line per step: path, kind, status, and the error if any.
pub fn print_run(run: &serde_json::Value) {
    outln!(
        "run {} {}",
        run["id"].as_str().unwrap_or("?"),
        run["status"].as_str().unwrap_or("?")
    );
    for step in run["steps"].as_array().into_iter().flatten() {
        let error = step["error"]
            .as_str()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        outln!(
            "  {} {} {}{error}",
            step["path"],
            step["kind"].as_str().unwrap_or("?"),
            step["status"].as_str().unwrap_or("?")
        );
        // A step can succeed and still drop a value (an invalid phone): say so.
        for w in super::runs::warnings(step) {
            outln!("    warning: {w}");
        }
    }
}
