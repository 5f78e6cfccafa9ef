//! `hookflow rotate WORKFLOW`: a new inbound URL for a leaked one (the old one answers 404).
//! Without a server, the new hook id goes into the data dir and the URL is printed with
//! `--public-url` (or the `--server` base, which is where `serve` listens by default).

use super::local::Source;
use super::Offline;
use crate::cli::output;
use crate::outln;
use crate::workflow::live::LiveCatalog;
use std::process::ExitCode;

/// `rotate WORKFLOW`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Workflow id.
    pub workflow: String,
    /// Base of the printed URL without a server (default: the `--server` URL).
    #[arg(long, env = "HOOKFLOW_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub offline: Offline,
}

/// Rotates the workflow's hook id and prints the new URL.
pub async fn run(server: &str, json: bool, args: &RotateArgs) -> anyhow::Result<ExitCode> {
    let workflow = &args.workflow;
    let (id, url) = match Source::pick(server, &args.offline.data).await? {
        Source::Server(client) => {
            let wf = client
                .post(&format!("/api/workflows/{workflow}/rotate"))
                .await?;
            (
                wf["id"].clone(),
                wf["url"].as_str().unwrap_or("").to_string(),
            )
        }
        Source::Local { store, .. } => {
            let dir = &args.offline.workflows;
            let catalog = LiveCatalog::load(dir).current();
            let Some(wid) = catalog.workflows.keys().find(|k| k.as_str() == workflow) else {
                anyhow::bail!("no workflow `{workflow}` in {}", dir.display());
            };
            let hook = store.rotate_hook(wid)?;
            store.flush_now()?;
            let base = args.public_url.as_deref().unwrap_or(server);
            let base = base.trim_end_matches('/');
            (
                serde_json::json!(workflow),
                format!("{base}/hooks/{}", hook.as_str()),
            )
        }
    };
    if json {
        output::json(&serde_json::json!({"id": id, "url": url}));
    } else {
        outln!("{url}");
    }
    Ok(ExitCode::SUCCESS)
}
