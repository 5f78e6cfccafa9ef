//! The `hookflow` command line. `serve` runs the server; every other command talks to a
//! running server's API, or, where none answers, opens the data dir itself (through
//! [`local::Source`]); `replay`, `send`, `simulate`, `tail` and `clock advance` run or
//! follow things, which only a server does, and need one.

mod audit;
mod backup;
mod check;
mod client;
mod clock;
mod compact;
mod contacts;
mod list;
mod local;
mod outbox;
pub mod output;
mod reference;
mod replay;
mod requests;
mod reset;
mod rotate;
mod runs;
mod send;
mod simulate;
mod sse;
mod table;
mod tail;
mod urls;

use crate::settings::ServeArgs;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "hookflow",
    version,
    about = "Inbound webhooks and workflows, GoHighLevel-style, on one machine"
)]
pub struct Cli {
    /// Server to talk to (token from HOOKFLOW_ADMIN_TOKEN).
    #[arg(
        long,
        global = true,
        env = "HOOKFLOW_SERVER",
        default_value = "http://127.0.0.1:8787"
    )]
    pub server: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of commands that can work on the files directly when no server answers.
#[derive(Debug, Clone, clap::Args)]
pub struct Offline {
    /// Workflows directory.
    #[arg(long, env = "HOOKFLOW_WORKFLOWS", default_value = "./workflows")]
    pub workflows: PathBuf,
    /// Data directory (used only when no server answers).
    #[arg(long, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Validate every workflow and sequence file.
    Check(Offline),
    /// Check offline that the store's indexes and timers agree with their records.
    Audit(audit::AuditArgs),
    /// Print `ID<TAB>URL` for every workflow.
    Urls(Offline),
    /// Post a sample file to a workflow's URL as its sender would.
    Send(send::SendArgs),
    /// Show the server's clock, or `advance DURATION` a manual one.
    Clock(clock::ClockArgs),
    /// Dry run of a payload: mapping and each step's outcome; writes and sends nothing.
    Simulate {
        /// Workflow id.
        workflow: String,
        /// Payload file (JSON; form when it ends in `.form`).
        file: PathBuf,
    },
    /// Contacts: list, show, and CSV export and import (GHL's columns).
    Contacts(contacts::ContactsArgs),
    /// Empty contacts, requests, runs, outbox and timers.
    Reset(reset::ResetArgs),
    /// Run a logged request again.
    Replay {
        /// The request's id (see `GET /api/requests`).
        request_id: String,
    },
    /// The request log (`requests show ID`: headers, body, answer, items → runs).
    Requests(requests::RequestsArgs),
    /// Runs (`runs show ID`: the step timeline with warnings).
    Runs(runs::RunsArgs),
    /// Emails and their delivery state (`outbox show ID`: the rendered message).
    Outbox(outbox::OutboxArgs),
    /// A workflow's captured reference: `show`, `set`, `clear`.
    Reference {
        #[command(subcommand)]
        command: reference::ReferenceCmd,
        #[command(flatten)]
        files: reference::Files,
    },
    /// A new inbound URL for a workflow whose URL leaked; prints it.
    Rotate(rotate::RotateArgs),
    /// Follow what happens, one line per event, until Ctrl-C.
    Tail(tail::TailArgs),
    /// Write a backup of the whole store to FILE (from the server, else from --data).
    Backup(backup::BackupArgs),
    /// Make a new data dir from a backup: `restore FILE --data DIR`.
    Restore(backup::RestoreArgs),
    /// Rewrite a stopped server's store so its file holds only live records.
    Compact(compact::CompactArgs),
}

/// Runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    output::install_broken_pipe_hook();
    let cli = Cli::parse();
    crate::logging::init();
    let code = run(cli);
    // What the log still buffers goes out before the process ends.
    crate::logging::finish();
    code
}

fn run(cli: Cli) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Check(o) => check::run(&cli.server, cli.json, &o).await,
            Command::Audit(a) => audit::run(cli.json, &a),
            Command::Urls(o) => urls::run(&cli.server, cli.json, &o).await,
            Command::Send(a) => send::run(&cli.server, cli.json, &a).await,
            Command::Clock(a) => clock::run(&cli.server, cli.json, &a).await,
            Command::Simulate { workflow, file } => {
                simulate::run(&cli.server, cli.json, &workflow, &file).await
            }
            Command::Contacts(a) => contacts::run(&cli.server, cli.json, &a).await,
            Command::Reset(a) => reset::run(&cli.server, &a).await,
            Command::Replay { request_id } => replay::run(&cli.server, cli.json, &request_id).await,
            Command::Requests(a) => requests::run(&cli.server, cli.json, &a).await,
            Command::Runs(a) => runs::run(&cli.server, cli.json, &a).await,
            Command::Outbox(a) => outbox::run(&cli.server, cli.json, &a).await,
            Command::Reference { command, files } => {
                reference::run(&cli.server, cli.json, &command, &files).await
            }
            Command::Rotate(a) => rotate::run(&cli.server, cli.json, &a).await,
            Command::Tail(a) => tail::run(&cli.server, cli.json, &a).await,
            Command::Backup(a) => backup::run_backup(&cli.server, cli.json, &a).await,
            Command::Restore(a) => backup::run_restore(cli.json, &a),
            Command::Compact(a) => compact::run(cli.json, &a),
        }
    });
    match result {
        Ok(code) => {
            output::finish();
            code
        }
        Err(e) => {
            // After the log lines that led to it, not before them.
            crate::logging::finish();
            eprintln!("error: {e:#}");
            if e.to_string().contains("data dir in use") {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let app = crate::app::Application::build(args).await?;
    // A closed stdout (a supervisor that stopped reading) must not take the server down.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in app.banner() {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    for line in app.diagnostics() {
        crate::logging::print_line(&line);
    }
    match app.run_until(crate::app::shutdown_signal()).await? {
        crate::app::Stopped::Signal => Ok(ExitCode::SUCCESS),
        crate::app::Stopped::ToCompact(listener) => {
            // exec replaces the process: buffered log lines would die with it.
            crate::logging::finish();
            let e = crate::app::exec_compacting(listener);
            anyhow::bail!("could not restart to compact the store: {e}")
        }
    }
}
