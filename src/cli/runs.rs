//! `hookflow runs`: runs as a table; `runs show ID` is the step timeline with each step's
//! input, output, error and warnings.

use super::list::{self, Page};
use super::local::{DataArgs, Source};
use super::table::{short_time, text, Table};
use crate::cli::output;
use crate::outln;
use crate::store::runs::RunFilter;
use crate::views::runs as views;
use serde_json::Value;
use std::process::ExitCode;

/// `runs [--workflow W] [--status S] [--contact C] [--limit N] [--cursor C]` or `runs show ID`.
#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub show: Option<super::requests::Show>,
    /// Only this workflow's runs.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only runs with this status (queued, running, waiting, succeeded, failed).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs of this contact id.
    #[arg(long)]
    pub contact: Option<String>,
    #[command(flatten)]
    pub page: Page,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Lists runs or shows one.
pub async fn run(server: &str, json: bool, args: &RunsArgs) -> anyhow::Result<ExitCode> {
    let source = Source::pick(server, &args.data.data).await?;
    if let Some(super::requests::Show::Show { id }) = &args.show {
        let r = source
            .get(&format!("/api/runs/{id}"), |store, _| views::one(store, id))
            .await?;
        if json {
            output::json(&r);
        } else {
            timeline(&r);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let filters = [
        ("workflow", args.workflow.as_deref()),
        ("status", args.status.as_deref()),
        ("contact", args.contact.as_deref()),
    ];
    let filter = RunFilter {
        workflow: args.workflow.clone(),
        status: args.status.clone(),
        contact: args.contact.clone(),
    };
    let page = source
        .page(
            "/api/runs",
            &filters,
            &args.page,
            |store, cursors, at, limit| views::list(store, cursors, &filter, at, limit),
        )
        .await?;
    if json {
        output::json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&["CREATED", "ID", "WORKFLOW", "STATUS", "CONTACT", "STEPS"]);
    for r in list::items(&page) {
        table.row(vec![
            short_time(&r["created_at"]),
            text(&r["id"]),
            text(&r["workflow"]),
            text(&r["status"]),
            text(&r["contact_id"]),
            r["steps"].as_array().map_or(0, Vec::len).to_string(),
        ]);
    }
    table.print();
    list::footer(&page, &list::again("runs", &filters, args.page.limit));
    Ok(ExitCode::SUCCESS)
}

/// `run ID STATUS` and where it came from, then each step with its input, output, error and
/// warnings.
pub fn timeline(run: &Value) {
    outln!("run       {}  {}", text(&run["id"]), text(&run["status"]));
    outln!("workflow  {}", text(&run["workflow"]));
    outln!("request   {}", text(&run["request_id"]));
    outln!("contact   {}", text(&run["contact_id"]));
    if let Some(e) = run["error"].as_str() {
        outln!("error     {e}");
    }
    for step in run["steps"].as_array().into_iter().flatten() {
        outln!();
        step_lines(step, "");
        outln!("    input   {}", compact(&step["input"]));
        outln!("    output  {}", compact(&step["output"]));
    }
}

/// `PATH KIND STATUS` (with the time and the error), then one line per warning.
pub fn step_lines(step: &Value, indent: &str) {
    let error = step["error"]
        .as_str()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    outln!(
        "{indent}{} {} {} {}{error}",
        short_time(&step["started_at"]),
        step["path"],
        text(&step["kind"]),
        text(&step["status"]),
    );
    for w in warnings(step) {
        outln!("{indent}  warning: {w}");
    }
}

/// The warnings a step recorded in its output.
pub fn warnings(step: &Value) -> Vec<String> {
    step["output"]["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect()
}

fn compact(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
