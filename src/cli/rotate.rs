//! `hookflow rotate WORKFLOW`: a new inbound URL for a leaked one (the old one answers 404).

use super::list;
use crate::cli::output;
use crate::outln;
use std::process::ExitCode;

/// Rotates the workflow's hook id and prints the new URL.
pub async fn run(server: &str, json: bool, workflow: &str) -> anyhow::Result<ExitCode> {
    let client = list::server(server).await?;
    let wf = client
        .post(&format!("/api/workflows/{workflow}/rotate"))
        .await?;
    let url = wf["url"].as_str().unwrap_or("");
    if json {
        output::json(&serde_json::json!({"id": wf["id"], "url": url}));
    } else {
        outln!("{url}");
    }
    Ok(ExitCode::SUCCESS)
}
