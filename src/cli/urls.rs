//! `hookflow urls`: `ID<TAB>URL` per workflow.

use super::client::ApiClient;
use super::Offline;
use crate::outln;
use crate::store::Store;
use crate::workflow::live::LiveCatalog;
use std::process::ExitCode;

/// Prints every workflow's inbound URL, from the server or, if none answers, the data dir.
pub async fn run(server: &str, json: bool, offline: &Offline) -> anyhow::Result<ExitCode> {
    let rows = workflow_urls(server, offline).await?;
    if json {
        let items: Vec<_> = rows
            .iter()
            .map(|(id, url)| serde_json::json!({"id": id, "url": url}))
            .collect();
        // The API's list shape, like every other list's `--json`.
        crate::cli::output::json(&serde_json::json!({"items": items, "next_cursor": null}));
    } else {
        for (id, url) in rows {
            outln!("{id}\t{url}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `(id, url)` of every workflow.
pub async fn workflow_urls(
    server: &str,
    offline: &Offline,
) -> anyhow::Result<Vec<(String, String)>> {
    let client = ApiClient::new(server);
    if client.is_up().await {
        let list = client.get("/api/workflows").await?;
        return Ok(list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["kind"] == "workflow")
            .filter_map(|w| {
                Some((
                    w["id"].as_str()?.to_string(),
                    w["url"].as_str()?.to_string(),
                ))
            })
            .collect());
    }
    let store = Store::open(&offline.data)?;
    let catalog = LiveCatalog::load(&offline.workflows).current();
    let base = server.trim_end_matches('/');
    let mut rows = Vec::new();
    for id in catalog.workflows.keys() {
        let hook = store.hook_id_for(id)?;
        rows.push((id.to_string(), format!("{base}/hooks/{}", hook.as_str())));
    }
    store.flush_now()?;
    Ok(rows)
}
