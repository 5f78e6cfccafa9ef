//! `hookflow replay REQUEST_ID`: runs a logged request again through the server.

use super::client::ApiClient;
use super::send::{finished_runs, print_run};
use crate::outln;
use std::process::ExitCode;

/// Asks the server to replay the request and prints the answer and its runs.
pub async fn run(server: &str, json: bool, request_id: &str) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(server);
    let answer = client
        .post(&format!("/api/requests/{request_id}/replay"))
        .await?;
    let runs = finished_runs(&client, &answer).await;
    if json {
        outln!("{}", serde_json::json!({"answer": answer, "runs": runs}));
    } else {
        outln!("{}", serde_json::to_string_pretty(&answer)?);
        for run in &runs {
            print_run(run);
        }
    }
    Ok(ExitCode::SUCCESS)
}
