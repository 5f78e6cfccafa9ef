//! `hookflow audit --data DIR`: the store's offline consistency check (see
//! [`crate::store::audit`]). It opens the data dir itself, so the server must be stopped (or
//! killed: the crash harness audits a copy of the dir right after each kill -9).

use crate::outln;
use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hookflow audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// Data directory to check (not in use by a server).
    #[arg(long, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// Prints the counts (JSON with `--json`); exit 1 when anything disagrees.
pub fn run(json: bool, args: &AuditArgs) -> anyhow::Result<ExitCode> {
    // Opening would create an empty store and report it clean: say what is missing instead.
    if !args.data.join("sled").exists() {
        anyhow::bail!(
            "{} holds no hookflow data; pass --data DIR",
            args.data.display()
        );
    }
    let store = Store::open(&args.data).map_err(|e| match e {
        StoreError::Locked => anyhow::anyhow!(
            "data dir in use: stop the server first (audit reads {} itself)",
            args.data.display()
        ),
        other => other.into(),
    })?;
    let report = store.audit()?;
    let total = report.mismatches.total();
    if json {
        crate::cli::output::json(&report);
    } else {
        let c = &report.checked;
        outln!(
            "checked: {} contacts, {} email and {} phone index entries, {} enrolments, {} runs, {} timers",
            c.contacts, c.email_index, c.phone_index, c.enrolments, c.runs, c.timers
        );
        let counts = serde_json::to_value(&report.mismatches)?;
        for (name, n) in counts.as_object().into_iter().flatten() {
            outln!("{name:<28} {n}");
        }
        for example in &report.examples {
            outln!("  {example}");
        }
        match total {
            0 => outln!("ok"),
            n => outln!("{n} mismatches"),
        }
    }
    Ok(ExitCode::from(u8::from(total > 0)))
}
