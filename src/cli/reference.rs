//! `hookflow reference show|set|clear WORKFLOW`: the captured reference a marketer maps fields
//! from. `show` prints `PATH<TAB>{{ trigger.… }}<TAB>example` per field, ready to paste.

use super::client::ApiClient;
use super::local::Source;
use crate::cli::output;
use crate::outln;
use crate::store::Store;
use crate::views;
use crate::workflow::live::LiveCatalog;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What to do with a workflow's reference.
#[derive(Debug, clap::Subcommand)]
pub enum ReferenceCmd {
    /// One line per field: `PATH<TAB>{{ trigger.… }}<TAB>example value`.
    Show {
        /// Workflow id.
        workflow: String,
    },
    /// Use another logged request of the workflow as its reference.
    Set {
        /// Workflow id.
        workflow: String,
        /// A request of that workflow (see `hookflow requests --workflow W`).
        request_id: String,
    },
    /// Forget the reference; the next request captures a new one.
    Clear {
        /// Workflow id.
        workflow: String,
    },
}

/// Where `reference` reads and writes when no server answers.
#[derive(Debug, Clone, clap::Args)]
pub struct Files {
    /// Workflows directory (used only when no server answers).
    #[arg(
        long,
        global = true,
        env = "HOOKFLOW_WORKFLOWS",
        default_value = "./workflows"
    )]
    pub workflows: PathBuf,
    /// Data directory (used only when no server answers).
    #[arg(long, global = true, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// Shows, sets or clears the reference through the server, or in the data dir when none answers.
pub async fn run(
    server: &str,
    json: bool,
    cmd: &ReferenceCmd,
    files: &Files,
) -> anyhow::Result<ExitCode> {
    let source = Source::pick(server, &files.data).await?;
    let wf = match &source {
        Source::Server(client) => through_server(client, cmd).await?,
        Source::Local { store, .. } => in_store(store, &files.workflows, cmd)?,
    };
    print(cmd, json, &wf)
}

async fn through_server(client: &ApiClient, cmd: &ReferenceCmd) -> anyhow::Result<Value> {
    match cmd {
        ReferenceCmd::Show { workflow } => client.get(&format!("/api/workflows/{workflow}")).await,
        ReferenceCmd::Set {
            workflow,
            request_id,
        } => {
            let body = serde_json::json!({"request_id": request_id});
            client
                .put_json(&format!("/api/workflows/{workflow}/reference"), &body)
                .await
        }
        ReferenceCmd::Clear { workflow } => {
            client
                .delete(&format!("/api/workflows/{workflow}/reference"))
                .await
        }
    }
}

/// The same change and answer, on the data dir (no server holds it, so none caches it).
fn in_store(store: &Store, workflows: &Path, cmd: &ReferenceCmd) -> anyhow::Result<Value> {
    let id = match cmd {
        ReferenceCmd::Show { workflow }
        | ReferenceCmd::Set { workflow, .. }
        | ReferenceCmd::Clear { workflow } => workflow.as_str(),
    };
    let catalog = LiveCatalog::load(workflows).current();
    let Some(entry) = catalog.workflows.values().find(|e| e.id.as_str() == id) else {
        anyhow::bail!("no workflow `{id}` in {}", workflows.display());
    };
    match cmd {
        ReferenceCmd::Show { .. } => {}
        ReferenceCmd::Set { request_id, .. } => views::reference::set(store, id, request_id)?,
        ReferenceCmd::Clear { .. } => {
            store.clear_reference(id)?;
        }
    }
    store.flush_now()?;
    let reference = views::reference::of(store, entry)?;
    Ok(serde_json::json!({"id": id, "reference": reference}))
}

fn print(cmd: &ReferenceCmd, json: bool, wf: &Value) -> anyhow::Result<ExitCode> {
    let reference = &wf["reference"];
    if json {
        output::json(reference);
        return Ok(ExitCode::SUCCESS);
    }
    match (cmd, reference) {
        (ReferenceCmd::Clear { workflow }, _) => {
            outln!("reference of {workflow} cleared; the next request captures a new one")
        }
        (_, Value::Null) => outln!(
            "no reference yet for {}: send it a request (hookflow send {} FILE)",
            text(&wf["id"]),
            text(&wf["id"])
        ),
        (_, r) => print_fields(r),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_fields(reference: &Value) {
    for field in reference["fields"].as_array().into_iter().flatten() {
        let path = field["path"].as_str().unwrap_or("$");
        outln!(
            "{path}\t{}\t{}",
            template_of(path),
            example(&field["value"])
        );
    }
}

/// `$.a.b[0]` → `{{ trigger.a.b[0] }}`; `$['@type']` → `{{ trigger['@type'] }}`.
pub fn template_of(path: &str) -> String {
    let rest = path.strip_prefix('$').unwrap_or(path);
    let rest = rest
        .strip_prefix('.')
        .map_or_else(|| rest.to_string(), |r| format!(".{r}"));
    format!("{{{{ trigger{rest} }}}}")
}

/// The value on one line: strings as they are, anything else as JSON.
fn example(v: &Value) -> String {
    match v {
        Value::String(s) => s.replace(['\n', '\t'], " "),
        other => other.to_string(),
    }
}

fn text(v: &Value) -> String {
    super::table::text(v)
}

#[cfg(test)]
mod tests {
    use super::template_of;

    #[test]
    fn paths_become_trigger_templates() {
        assert_eq!(template_of("$.email"), "{{ trigger.email }}");
        assert_eq!(template_of("$.a.b[0]"), "{{ trigger.a.b[0] }}");
        assert_eq!(template_of("$['@type']"), "{{ trigger['@type'] }}");
    }
}
