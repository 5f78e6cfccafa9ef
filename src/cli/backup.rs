//! `hookflow backup FILE` and `hookflow restore FILE --data DIR`.
//!
//! A backup comes from the running server (`GET /api/backup`) or, when none answers, straight
//! from the data dir. Either way it is written beside FILE, read back in full to check it, and
//! only then renamed to FILE: a backup cut short never looks like a whole one. Restore makes a
//! new data dir (see [`crate::store::backup`]); it never writes into one that holds anything.

use super::local::Source;
use crate::cli::output;
use crate::outln;
use crate::store::backup::{self, Summary};
use anyhow::Context as _;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// A backup of a large store may take a while to stream.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// `backup FILE`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (replaced only once the new one is complete and checked).
    pub file: PathBuf,
    /// Data directory (used only when no server answers).
    #[arg(long, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// `restore FILE --data DIR`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `hookflow backup`.
    pub file: PathBuf,
    /// The new data dir to make (must not exist, or be empty).
    #[arg(long, env = "HOOKFLOW_DATA")]
    pub data: PathBuf,
}

/// Writes a backup from the server or the data dir.
pub async fn run_backup(server: &str, json: bool, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let file = &args.file;
    let partial = partial_path(file);
    let written = write_partial(server, &args.data, &partial).await;
    let checked = written.and_then(|()| {
        let f = std::fs::File::open(&partial)?;
        backup::verify(std::io::BufReader::new(f))
            .context("the backup just written does not read back")
    });
    let summary = match checked {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, file).with_context(|| format!("cannot write {}", file.display()))?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if json {
        output::json(&json!({
            "file": file.display().to_string(),
            "trees": summary.trees,
            "records": summary.records,
            "bytes": bytes,
        }));
    } else {
        outln!(
            "backup written to {} ({} records, {bytes} bytes); restore it with `hookflow restore {} --data NEW_DIR`",
            file.display(),
            summary.records,
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `FILE.partial` beside FILE (same filesystem, so the rename is atomic).
fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    file.with_file_name(name)
}

async fn write_partial(server: &str, data: &Path, partial: &Path) -> anyhow::Result<()> {
    let create = || {
        std::fs::File::create(partial)
            .with_context(|| format!("cannot create {}", partial.display()))
    };
    match Source::pick(server, data).await? {
        Source::Server(client) => {
            let req = client
                .request(reqwest::Method::GET, "/api/backup")
                .timeout(TRANSFER_TIMEOUT);
            let mut resp = client.send_ok(req).await?;
            let mut out = std::io::BufWriter::new(create()?);
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => out.write_all(&chunk)?,
                    Ok(None) => break,
                    Err(e) => anyhow::bail!("the backup was cut short: {e}"),
                }
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        Source::Local { store, .. } => {
            let mut out = std::io::BufWriter::new(create()?);
            store.backup(&mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
    }
    Ok(())
}

/// Makes a new data dir from a backup.
pub fn run_restore(json: bool, args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let summary: Summary = backup::restore(std::io::BufReader::new(file), &args.data)
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    let dir = args.data.display();
    if json {
        output::json(&json!({
            "data": dir.to_string(),
            "trees": summary.trees,
            "records": summary.records,
        }));
    } else {
        outln!(
            "restored {} records into {dir}; start it with `hookflow serve --data {dir}`",
            summary.records
        );
    }
    Ok(ExitCode::SUCCESS)
}
