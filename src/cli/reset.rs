//! `hookflow reset`: empties contacts, requests, runs, outbox and timers; keeps hook ids and
//! references unless `--all`. Asks first unless `--yes`.

use super::client::ApiClient;
use super::Offline;
use crate::outln;
use crate::store::Store;
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// Arguments of `reset`.
#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// Also forget hook ids (every workflow gets a new URL) and references.
    #[arg(long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub offline: Offline,
}

/// Resets through the server, or the data dir itself when no server answers.
pub async fn run(server: &str, args: &ResetArgs) -> anyhow::Result<ExitCode> {
    if !args.yes && !confirm(args.all)? {
        eprintln!("nothing changed");
        return Ok(ExitCode::from(1));
    }
    let client = ApiClient::new(server);
    if client.is_up().await {
        client
            .post_json("/api/reset", &serde_json::json!({"all": args.all}))
            .await?;
    } else {
        Store::open(&args.offline.data)?.reset(args.all)?;
    }
    outln!(
        "reset{}",
        if args.all {
            " (hook ids and references too)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn confirm(all: bool) -> anyhow::Result<bool> {
    let what = if all {
        "contacts, requests, runs, outbox, timers, hook ids (new URLs!) and references"
    } else {
        "contacts, requests, runs, outbox and timers (hook ids and references are kept)"
    };
    eprint!("This deletes {what}. Continue? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
