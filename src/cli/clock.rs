//! `hookflow clock` shows the server's clock; `hookflow clock advance DURATION` moves a manual
//! clock forward and lists the timers that fired (`POST /api/clock/advance`).

use super::client::ApiClient;
use super::local::{DataArgs, Source};
use crate::domain::time::ClockMode;
use crate::outln;
use crate::store::clock::Clock;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::process::ExitCode;

/// `hookflow clock [advance DURATION]`.
#[derive(Debug, Clone, Args)]
pub struct ClockArgs {
    #[command(subcommand)]
    pub action: Option<ClockAction>,
    /// The clock a server on this data dir would use (only when no server answers).
    #[arg(long, global = true, env = "HOOKFLOW_CLOCK", default_value = "real")]
    pub clock: ClockMode,
    #[command(flatten)]
    pub data: DataArgs,
}

/// What to do with the clock.
#[derive(Debug, Clone, Subcommand)]
pub enum ClockAction {
    /// Move a manual clock forward (e.g. `3d`, `1h30m`) and fire what became due.
    Advance {
        /// How far: `90s`, `2h`, `3d`, `1h30m`.
        duration: String,
    },
}

/// Shows the clock (a server's, or the data dir's when none answers); `advance` needs a server.
pub async fn run(server: &str, json: bool, args: &ClockArgs) -> anyhow::Result<ExitCode> {
    let answer = match &args.action {
        None => {
            let source = Source::pick(server, &args.data.data).await?;
            let mode = args.clock;
            source
                .get("/api/clock", |store, _| {
                    Ok(crate::views::clock::show(&Clock::new(mode, store.clone())?))
                })
                .await?
        }
        Some(ClockAction::Advance { duration }) => {
            let client = ApiClient::new(server);
            if !client.is_up().await {
                anyhow::bail!(
                    "no hookflow server answers at {server}; advancing the clock fires timers, \
                     which only a running server does (`hookflow serve --clock manual`)"
                );
            }
            client
                .post_json("/api/clock/advance", &serde_json::json!({"by": duration}))
                .await?
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &args.action {
        None => outln!(
            "{}\t{}",
            answer["mode"].as_str().unwrap_or("?"),
            answer["now"].as_str().unwrap_or("?")
        ),
        Some(_) => {
            outln!("now {}", answer["now"].as_str().unwrap_or("?"));
            for f in answer["fired"].as_array().into_iter().flatten() {
                outln!("{}", fired_line(f));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fired_line(f: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    match f["kind"].as_str() {
        Some("run_wait") => format!(
            "{}\trun_wait\trun {}\t{}",
            s(&f["due_at"]),
            s(&f["run_id"]),
            s(&f["status"])
        ),
        _ => format!(
            "{}\tsequence_step\t{} {}\t{} {}",
            s(&f["due_at"]),
            s(&f["sequence"]),
            s(&f["contact_id"]),
            f["detail"]["kind"].as_str().unwrap_or(""),
            f["detail"]["status"]
                .as_str()
                .unwrap_or(f["detail"]["outcome"].as_str().unwrap_or(""))
        ),
    }
}
