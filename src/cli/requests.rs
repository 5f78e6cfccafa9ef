//! `hookflow requests`: the request log as a table; `requests show ID` gives headers (masked),
//! body, the answer given and each item's run.

use super::list::{self, Page};
use super::local::{DataArgs, Source};
use super::table::{short_time, text, Table};
use crate::cli::output;
use crate::outln;
use crate::views::requests as views;
use serde_json::Value;
use std::process::ExitCode;

/// `requests [--workflow W] [--status S] [--limit N] [--cursor C]` or `requests show ID`.
#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    #[command(subcommand)]
    pub show: Option<Show>,
    /// Only this workflow's requests.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only requests with this status (accepted, captured, filtered, duplicate, rejected).
    #[arg(long)]
    pub status: Option<String>,
    #[command(flatten)]
    pub page: Page,
    #[command(flatten)]
    pub data: DataArgs,
}

/// `show ID`.
#[derive(Debug, clap::Subcommand)]
pub enum Show {
    /// One record in full.
    Show {
        /// Its id.
        id: String,
    },
}

/// Lists requests or shows one.
pub async fn run(server: &str, json: bool, args: &RequestsArgs) -> anyhow::Result<ExitCode> {
    let source = Source::pick(server, &args.data.data).await?;
    if let Some(Show::Show { id }) = &args.show {
        let r = source
            .get(&format!("/api/requests/{id}"), |store, _| {
                views::one(store, id)
            })
            .await?;
        if json {
            output::json(&r);
        } else {
            show(&r);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let filters = [
        ("workflow", args.workflow.as_deref()),
        ("status", args.status.as_deref()),
    ];
    let page = source
        .page(
            "/api/requests",
            &filters,
            &args.page,
            |store, cursors, at, limit| {
                let (workflow, status) = (args.workflow.as_deref(), args.status.as_deref());
                views::list(store, cursors, workflow, status, at, limit)
            },
        )
        .await?;
    if json {
        output::json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&["RECEIVED", "ID", "WORKFLOW", "STATUS", "HTTP", "ITEMS"]);
    for r in list::items(&page) {
        let status = match r["reason"].as_str() {
            Some(_) if r["status"] == "rejected" => format!("rejected ({})", reason_code(r)),
            _ => text(&r["status"]),
        };
        table.row(vec![
            short_time(&r["received_at"]),
            text(&r["id"]),
            text(&r["workflow"]),
            status,
            text(&r["http_status"]),
            r["items"].as_array().map_or(0, Vec::len).to_string(),
        ]);
    }
    table.print();
    list::footer(&page, &list::again("requests", &filters, args.page.limit));
    Ok(ExitCode::SUCCESS)
}

/// The first words of a rejection reason, short enough for a table cell.
fn reason_code(r: &Value) -> String {
    let reason = r["reason"].as_str().unwrap_or("");
    let short: String = reason.chars().take(40).collect();
    if short.len() < reason.len() {
        format!("{short}…")
    } else {
        short
    }
}

fn show(r: &Value) {
    outln!("request   {}", text(&r["id"]));
    outln!("workflow  {}", text(&r["workflow"]));
    outln!("received  {}", text(&r["received_at"]));
    outln!("from      {}", text(&r["remote_addr"]));
    let replay = r["replay_of"]
        .as_str()
        .map(|o| format!(" (replay of {o})"))
        .unwrap_or_default();
    outln!(
        "answer    {} {}{replay}",
        text(&r["http_status"]),
        text(&r["status"])
    );
    if let Some(reason) = r["reason"].as_str() {
        outln!("reason    {reason}");
    }
    outln!();
    let query = r["query"].as_str().unwrap_or("");
    let target = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    outln!("{} /hooks/…{target}", text(&r["method"]));
    for (name, value) in headers(&r["headers"]) {
        outln!("{name}: {value}");
    }
    outln!();
    outln!("{}", r["body"].as_str().unwrap_or(""));
    if r["body_truncated"] == true {
        outln!(
            "(body cut at the rejected-log limit; {} bytes arrived)",
            text(&r["body_size"])
        );
    }
    let items = r["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if !items.is_empty() {
        outln!();
        outln!("items");
        for i in items {
            let run = i["run_id"]
                .as_str()
                .map(|id| format!(" → run {id}"))
                .unwrap_or_default();
            outln!("  {} {}{run}", text(&i["index"]), text(&i["status"]));
        }
    }
}

/// `(name, value)` of the stored headers: an object, or a list of pairs.
fn headers(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => Some((text(&kv[0]), text(&kv[1]))),
                Value::Object(o) => Some((text(&o["name"]), text(&o["value"]))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
