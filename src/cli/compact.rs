//! `hookflow compact --data DIR`: rewrites a stopped server's store into a file that holds only
//! its live records (see [`crate::store::compact`]). A running `serve` does this by itself once
//! its file has doubled (`--compact-above`).

use crate::outln;
use crate::store::{compact, StoreError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hookflow compact`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompactArgs {
    /// Data directory to compact (not in use by a server).
    #[arg(long, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// Compacts and prints the sizes before and after (JSON with `--json`).
pub fn run(json: bool, args: &CompactArgs) -> anyhow::Result<ExitCode> {
    // Opening would create an empty store: say what is missing instead.
    if !args.data.join("sled").exists() {
        anyhow::bail!(
            "{} holds no hookflow data; pass --data DIR",
            args.data.display()
        );
    }
    let done = compact::compact(&args.data, crate::store::DEFAULT_CACHE).map_err(|e| match e {
        StoreError::Locked => anyhow::anyhow!(
            "data dir {} is in use by a running hookflow serve: it compacts its store by itself \
             once the file has doubled (see `serve --compact-above`); stop it to compact now",
            args.data.display()
        ),
        other => other.into(),
    })?;
    if json {
        crate::cli::output::json(&serde_json::json!({
            "before_bytes": done.before,
            "after_bytes": done.after,
            "records": done.records,
            "ms": done.took.as_millis() as u64,
            "trees": done.trees.iter().map(|t| serde_json::json!({
                "name": t.name,
                "records": t.records,
                "bytes": t.bytes,
            })).collect::<Vec<_>>(),
        }));
    } else {
        outln!(
            "compacted {}: {} -> {} ({} records) in {:.1} s",
            args.data.display(),
            mib(done.before),
            mib(done.after),
            done.records,
            done.took.as_secs_f64()
        );
        outln!(
            "{:<16} {:>10} {:>12} {:>10}",
            "tree",
            "records",
            "bytes",
            "B/record"
        );
        // Empty trees (sled's own default one among them) say nothing about where disk goes.
        for t in done.trees.iter().filter(|t| t.records > 0) {
            outln!(
                "{:<16} {:>10} {:>12} {:>10}",
                t.name,
                t.records,
                t.bytes,
                t.bytes.checked_div(t.records).unwrap_or(0)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn mib(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}
