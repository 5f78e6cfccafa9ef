//! `hookflow reference show|set|clear WORKFLOW`: the captured reference a marketer maps fields
//! from. `show` prints `PATH<TAB>{{ trigger.… }}<TAB>example` per field, ready to paste.

use super::list;
use super::local::Source;
use crate::cli::output;
use crate::outln;
use crate::workflow::live::LiveCatalog;
use serde_json::Value;
use std::path::PathBuf;
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

/// Where `reference show` reads when no server answers (`set` and `clear` need a server).
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

/// Shows the reference (from the server or the data dir), or changes it through the server.
pub async fn run(
    server: &str,
    json: bool,
    cmd: &ReferenceCmd,
    files: &Files,
) -> anyhow::Result<ExitCode> {
    if let ReferenceCmd::Show { workflow } = cmd {
        let source = Source::pick(server, &files.data).await?;
        let wf = match &source {
            Source::Server(client) => client.get(&format!("/api/workflows/{workflow}")).await?,
            Source::Local { store, .. } => local_workflow(store, &files.workflows, workflow)?,
        };
        return print(cmd, json, &wf);
    }
    let client = list::server(server).await.map_err(|e| {
        anyhow::anyhow!("{e} (`reference set` and `clear` change a running server's state)")
    })?;
    let wf = match cmd {
        ReferenceCmd::Show { .. } => unreachable!("shown above"),
        ReferenceCmd::Set {
            workflow,
            request_id,
        } => {
            let body = serde_json::json!({"request_id": request_id});
            client
                .put_json(&format!("/api/workflows/{workflow}/reference"), &body)
                .await?
        }
        ReferenceCmd::Clear { workflow } => {
            client
                .delete(&format!("/api/workflows/{workflow}/reference"))
                .await?
        }
    };
    print(cmd, json, &wf)
}

/// `{"id", "reference"}` of a loaded workflow, read from the files and the store.
fn local_workflow(
    store: &crate::store::Store,
    workflows: &std::path::Path,
    id: &str,
) -> anyhow::Result<Value> {
    let catalog = LiveCatalog::load(workflows).current();
    let Some(entry) = catalog.workflows.values().find(|e| e.id.as_str() == id) else {
        anyhow::bail!("no workflow `{id}` in {}", workflows.display());
    };
    let reference = crate::views::reference::of(store, entry)?;
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
