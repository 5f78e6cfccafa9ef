//! `hookflow check`: validates every workflow and sequence file; with a server or an unlocked
//! data dir, also warns where a mapping path matches nothing in the captured reference.

use super::client::ApiClient;
use super::Offline;
use crate::store::Store;
use crate::workflow::lint::lint_mapping;
use crate::workflow::live::LiveCatalog;
use crate::workflow::report::format_diagnostic;
use serde_json::Value;
use std::process::ExitCode;

/// Prints `file:line:column: error|warning: …` lines; exit 1 on any error.
pub async fn run(server: &str, json: bool, offline: &Offline) -> anyhow::Result<ExitCode> {
    let catalog = LiveCatalog::load(&offline.workflows).current();
    let errors: Vec<_> = catalog.all_errors().into_iter().cloned().collect();
    let mut warnings: Vec<_> = catalog
        .workflows
        .values()
        .flat_map(|e| e.warnings.clone())
        .chain(catalog.sequences.values().flat_map(|e| e.warnings.clone()))
        .collect();
    let references = references(
        server,
        offline,
        catalog.workflows.keys().map(|k| k.to_string()),
    )
    .await;
    for entry in catalog.workflows.values() {
        if let (Ok(wf), Some(reference)) = (&entry.workflow, references.get(entry.id.as_str())) {
            let label = entry.file.display().to_string();
            warnings.extend(lint_mapping(wf, &label, reference));
        }
    }
    if json {
        let out = serde_json::json!({"errors": errors, "warnings": warnings});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for d in &errors {
            println!("{}", format_diagnostic(d, "error"));
        }
        for d in &warnings {
            println!("{}", format_diagnostic(d, "warning"));
        }
        let files = catalog.workflows.len() + catalog.sequences.len();
        eprintln!(
            "checked {files} files: {} errors, {} warnings",
            errors.len(),
            warnings.len()
        );
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The reference item of each workflow, from the server or an unlocked data dir; none if
/// neither is available (the check still runs).
async fn references(
    server: &str,
    offline: &Offline,
    ids: impl Iterator<Item = String>,
) -> std::collections::HashMap<String, Value> {
    let mut out = std::collections::HashMap::new();
    let ids: Vec<String> = ids.collect();
    let client = ApiClient::new(server);
    if client.is_up().await {
        for id in ids {
            if let Ok(w) = client.get(&format!("/api/workflows/{id}")).await {
                if let Some(item) = first_item(&w["reference"]["payload"]) {
                    out.insert(id, item);
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
        let Ok(Some(r)) = store.reference(&id) else {
            continue;
        };
        if let Some(item) = first_item(&r.payload) {
            out.insert(id, item);
        }
    }
    out
}

fn first_item(payload: &Value) -> Option<Value> {
    match payload {
        Value::Null => None,
        Value::Array(items) => items.first().cloned(),
        other => Some(other.clone()),
    }
}
