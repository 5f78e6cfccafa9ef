//! `hookflow simulate WORKFLOW FILE`: a dry run on the server — mapping results and each step's
//! outcome against the current store; nothing is written or sent.

use super::client::ApiClient;
use crate::outln;
use anyhow::Context as _;
use std::path::Path;
use std::process::ExitCode;

/// Posts the file to the simulate route and prints the trace.
pub async fn run(
    server: &str,
    json: bool,
    workflow: &str,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let body = std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
    let content_type = if file.extension().is_some_and(|e| e == "form") {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let client = ApiClient::new(server);
    let trace = client
        .post_body(
            &format!("/api/workflows/{workflow}/simulate"),
            content_type,
            body,
        )
        .await?;
    if json {
        outln!("{trace}");
        return Ok(ExitCode::SUCCESS);
    }
    for item in trace["items"].as_array().into_iter().flatten() {
        outln!(
            "item {} {}",
            item["index"],
            item["status"].as_str().unwrap_or("?")
        );
        for (name, value) in item["mapping"].as_object().into_iter().flatten() {
            outln!("  {name} = {value}");
        }
        if let Some(e) = item["filter_error"].as_str() {
            outln!("  filter error: {e}");
        }
        super::send::print_run(&item["run"]);
    }
    Ok(ExitCode::SUCCESS)
}
