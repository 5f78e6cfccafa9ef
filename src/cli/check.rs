//! `hookflow check`: validates every workflow and sequence file; with a server or an unlocked
//! data dir, also warns where a mapping or `trigger.…` path matches nothing in the captured
//! reference (the same warnings `GET /api/workflows/{id}` gives). `--json` prints one document
//! for editors and CI.

use super::client::ApiClient;
use super::Offline;
use crate::outln;
use crate::store::Store;
use crate::workflow::lint::workflow_warnings;
use crate::workflow::live::LiveCatalog;
use crate::workflow::report::format_diagnostic;
use crate::workflow::Diagnostic;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;

/// One line of the report.
#[derive(Debug, Serialize)]
struct Finding {
    #[serde(flatten)]
    diagnostic: Diagnostic,
    severity: &'static str,
}

/// Prints `file:line:column: error|warning: …` lines; exit 1 on any error.
pub async fn run(server: &str, json: bool, offline: &Offline) -> anyhow::Result<ExitCode> {
    let catalog = LiveCatalog::load(&offline.workflows).current();
    let ids = catalog.workflows.keys().map(|k| k.to_string()).collect();
    let references = references(server, offline, ids).await;
    let mut findings: Vec<Finding> = Vec::new();
    let mut push = |list: &mut dyn Iterator<Item = Diagnostic>, severity| {
        findings.extend(list.map(|diagnostic| Finding {
            diagnostic,
            severity,
        }))
    };
    push(&mut catalog.errors.iter().cloned(), "error");
    // File by file, so a file's error and its warnings read together.
    for e in catalog.workflows.values() {
        push(&mut e.workflow.as_ref().err().cloned().into_iter(), "error");
        let reference = references.get(e.id.as_str());
        push(&mut workflow_warnings(e, reference).into_iter(), "warning");
    }
    for e in catalog.sequences.values() {
        push(&mut e.sequence.as_ref().err().cloned().into_iter(), "error");
        push(&mut e.warnings.iter().cloned(), "warning");
    }
    let files = catalog.workflows.len() + catalog.sequences.len();
    let count = |s: &str| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warned) = (count("error"), count("warning"));
    if json {
        let out = serde_json::json!({
            "files": files, "errors": errors, "warnings": warned, "diagnostics": findings,
        });
        crate::cli::output::json(&out);
    } else {
        for f in &findings {
            outln!("{}", format_diagnostic(&f.diagnostic, f.severity));
        }
        eprintln!("checked {files} files: {errors} errors, {warned} warnings");
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The reference payload of each workflow, from the server or an unlocked data dir; none if
/// neither is available (the check still runs, without reference warnings).
async fn references(server: &str, offline: &Offline, ids: Vec<String>) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let client = ApiClient::new(server);
    if client.is_up().await {
        for id in ids {
            if let Ok(w) = client.get(&format!("/api/workflows/{id}")).await {
                let payload = &w["reference"]["payload"];
                if !payload.is_null() {
                    out.insert(id, payload.clone());
                }
            }
        }
        return out;
    }
    if !offline.data.exists() {
        return out;
    }
    let Ok(store) = Store::open(&offline.data) else {
        return out;
    };
    for id in ids {
        if let Ok(Some(r)) = store.reference(&id) {
            out.insert(id, r.payload);
        }
    }
    out
}
