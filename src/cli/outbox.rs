//! `hookflow outbox`: emails and their delivery state; `outbox show ID` prints the rendered
//! message as it was (or will be) sent.

use super::list::{self, Page};
use super::local::{DataArgs, Source};
use super::table::{short_time, text, Table};
use crate::cli::output;
use crate::outln;
use crate::store::outbox::OutboxState;
use crate::views::outbox as views;
use crate::views::ViewError;
use std::process::ExitCode;

/// `outbox [--state S] [--limit N] [--cursor C]` or `outbox show ID`.
#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub show: Option<super::requests::Show>,
    /// Only emails in this state (queued, sending, sent, failed, skipped).
    #[arg(long)]
    pub state: Option<String>,
    #[command(flatten)]
    pub page: Page,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Lists emails or shows one.
pub async fn run(server: &str, json: bool, args: &OutboxArgs) -> anyhow::Result<ExitCode> {
    let source = Source::pick(server, &args.data.data).await?;
    if let Some(super::requests::Show::Show { id }) = &args.show {
        let r = source
            .get(&format!("/api/outbox/{id}"), |store, _| {
                views::one(store, id)
            })
            .await?;
        if json {
            output::json(&r);
            return Ok(ExitCode::SUCCESS);
        }
        outln!("email     {}  {}", text(&r["id"]), text(&r["state"]));
        outln!("attempts  {}", text(&r["attempts"]));
        outln!("run       {}", text(&r["run_id"]));
        outln!("contact   {}", text(&r["contact_id"]));
        if let Some(e) = r["last_error"].as_str() {
            outln!("error     {e}");
        }
        if let Some(e) = r["skip_reason"].as_str() {
            outln!("skipped   {e}");
        }
        outln!();
        // The message as it goes on the wire: CRLF line ends become the terminal's.
        let message = r["message"].as_str().unwrap_or("").replace("\r\n", "\n");
        outln!("{}", message.trim_end());
        return Ok(ExitCode::SUCCESS);
    }
    let filters = [("state", args.state.as_deref())];
    let page = source
        .page(
            "/api/outbox",
            &filters,
            &args.page,
            |store, cursors, at, limit| {
                let state = args.state.as_deref().map(parse_state).transpose()?;
                views::list(store, cursors, state, None, at, limit)
            },
        )
        .await?;
    if json {
        output::json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&["CREATED", "ID", "STATE", "TRIES", "TO", "SUBJECT"]);
    for r in list::items(&page) {
        table.row(vec![
            short_time(&r["created_at"]),
            text(&r["id"]),
            text(&r["state"]),
            text(&r["attempts"]),
            text(&r["to"]),
            text(&r["subject"]),
        ]);
    }
    table.print();
    list::footer(&page, &list::again("outbox", &filters, args.page.limit));
    Ok(ExitCode::SUCCESS)
}

/// `--state` as the API reads it.
fn parse_state(s: &str) -> Result<OutboxState, ViewError> {
    serde_json::from_value(serde_json::json!(s)).map_err(|_| {
        ViewError::BadRequest(format!(
            "unknown state `{s}`; use one of queued, sending, sent, failed, skipped"
        ))
    })
}
