//! Loads a workflows directory into a `Catalog`: `*.yaml|*.yml` are workflows, `sequences/*` are
//! sequences. Each file stands alone, so one broken file never stops the others; its entry holds
//! the first error with file, line and column. `load_*_source` re-parse a stored old version so a
//! run stays on the version it started with.

use super::def::{SequenceDef, WorkflowDef};
use super::model::{
    Catalog, Diagnostic, MappingEntry, Sequence, SequenceEntry, Status, Workflow, WorkflowEntry,
};
use super::names::{Scope, WORKFLOW_NAMES};
use super::parse_error::yaml_diagnostic;
use super::paths::{compile, is_single};
use super::resolve::{pos, Ctx, Resolved};
use super::steps::resolve_steps;
use super::templates::check_unused;
use super::trigger::resolve_trigger;
use crate::domain::ids::WorkflowId;
use crate::engine::template::Renderer;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads every workflow and sequence file under `dir`; `env` looks up `${VAR}` secrets.
pub fn load_dir(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Catalog {
    let mut catalog = Catalog::default();
    let seq_dir = dir.join("sequences");
    let seq_files = if seq_dir.is_dir() {
        yaml_files(&seq_dir, &mut catalog.errors)
    } else {
        Vec::new()
    };
    let known: BTreeSet<WorkflowId> = seq_files.iter().map(|(id, _)| id.clone()).collect();
    // Every text read, to tell which email templates a file names.
    let mut sources: Vec<String> = Vec::new();
    let mut read = |file: &Path, label: &str| {
        let text = read_text(file, label);
        if let Ok(t) = &text {
            sources.push(t.clone());
        }
        text
    };
    for (id, file) in seq_files {
        let label = file.display().to_string();
        let sequence = read(&file, &label)
            .and_then(|text| load_sequence_source(&id, &label, &text, dir))
            .map(Arc::new);
        let entry = SequenceEntry {
            id: id.clone(),
            file,
            sequence,
            warnings: Vec::new(),
        };
        catalog.sequences.insert(id, entry);
    }
    for (id, file) in yaml_files(dir, &mut catalog.errors) {
        let label = file.display().to_string();
        let workflow = read(&file, &label)
            .and_then(|text| load_workflow_source(&id, &label, &text, env, &known, dir))
            .map(Arc::new);
        let entry = WorkflowEntry {
            id: id.clone(),
            file,
            workflow,
            warnings: Vec::new(),
        };
        catalog.workflows.insert(id, entry);
    }
    catalog.errors.extend(check_unused(dir, &sources));
    catalog
}

/// Parses and resolves one workflow's text (a file now, or a stored version later).
pub fn load_workflow_source(
    id: &WorkflowId,
    file_label: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    sequences_known: &BTreeSet<WorkflowId>,
    workflows_dir: &Path,
) -> Result<Workflow, Diagnostic> {
    let def: WorkflowDef =
        serde_saphyr::from_str(text).map_err(|e| yaml_diagnostic(file_label, text, &e))?;
    let renderer = Renderer::new();
    let mut ctx = Ctx {
        file: file_label,
        text,
        env,
        sequences: sequences_known,
        dir: workflows_dir,
        scope: Scope::workflow(&[]),
        in_sequence: false,
        renderer: &renderer,
        reads: RefCell::default(),
    };
    let mapping = resolve_mapping(&ctx, &def)?;
    let names: Vec<String> = mapping.iter().map(|m| m.name.clone()).collect();
    ctx.scope = Scope::before_contact(&names);
    let trigger_def = def
        .trigger
        .unwrap_or_else(super::def::TriggerDef::default_inbound);
    let trigger = resolve_trigger(&ctx, &trigger_def.inbound_webhook)?;
    ctx.scope = Scope::workflow(&names);
    let steps = resolve_steps(&ctx, &def.steps)?;
    let status = match def.status.map(|s| s.value) {
        Some(super::def::StatusDef::Draft) => Status::Draft,
        _ => Status::Published,
    };
    Ok(Workflow {
        id: id.clone(),
        name: def.name.value,
        status,
        trigger,
        mapping,
        steps,
        version: version_of(text.as_bytes()),
        source: Arc::from(text),
        reads: ctx.reads.into_inner(),
    })
}

/// Parses and resolves one sequence's text.
pub fn load_sequence_source(
    id: &WorkflowId,
    file_label: &str,
    text: &str,
    workflows_dir: &Path,
) -> Result<Sequence, Diagnostic> {
    let def: SequenceDef =
        serde_saphyr::from_str(text).map_err(|e| yaml_diagnostic(file_label, text, &e))?;
    let no_env = |_: &str| None;
    let no_sequences = BTreeSet::new();
    let renderer = Renderer::new();
    let ctx = Ctx {
        file: file_label,
        text,
        env: &no_env,
        sequences: &no_sequences,
        dir: workflows_dir,
        scope: Scope::sequence(),
        in_sequence: true,
        renderer: &renderer,
        reads: RefCell::default(),
    };
    Ok(Sequence {
        id: id.clone(),
        name: def.name.value,
        steps: resolve_steps(&ctx, &def.steps)?,
        version: version_of(text.as_bytes()),
        source: Arc::from(text),
    })
}

/// First 16 hex characters of the SHA-256 of the file's bytes.
pub fn version_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Mapping names become template names, so they must be identifiers that do not hide a
/// built-in name; paths must compile.
fn resolve_mapping(ctx: &Ctx, def: &WorkflowDef) -> Resolved<Vec<MappingEntry>> {
    let mut out: Vec<MappingEntry> = Vec::new();
    for (name, path) in &def.mapping.0 {
        let n = &name.value;
        let ident = n
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            return Err(ctx.err(&name.referenced, format!("mapping name `{n}` must be an identifier (letters, digits, `_`), e.g. `first_name`")));
        }
        if WORKFLOW_NAMES.contains(&n.as_str()) || n == "has_tag" {
            return Err(ctx.err(
                &name.referenced,
                format!("mapping name `{n}` hides the built-in name `{n}`; choose another name"),
            ));
        }
        if out.iter().any(|m| &m.name == n) {
            return Err(ctx.err(
                &name.referenced,
                format!("mapping name `{n}` is defined twice"),
            ));
        }
        let query = compile(&path.value).map_err(|m| ctx.err(&path.referenced, m))?;
        out.push(MappingEntry {
            name: n.clone(),
            path: path.value.clone(),
            single: is_single(&query),
            query: std::sync::Arc::new(query),
            pos: pos(&path.referenced),
        });
    }
    Ok(out)
}

fn read_text(file: &Path, label: &str) -> Result<String, Diagnostic> {
    let at = |message: String| Diagnostic {
        file: label.to_string(),
        line: 1,
        column: 1,
        message,
    };
    let bytes = std::fs::read(file).map_err(|e| at(format!("cannot read file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| at(format!("file is not UTF-8 text: {e}")))
}

/// The `*.yaml|*.yml` files of `dir` (not recursive) with their ids, sorted by name. Bad names and
/// duplicate ids become catalog errors.
fn yaml_files(dir: &Path, errors: &mut Vec<Diagnostic>) -> Vec<(WorkflowId, PathBuf)> {
    let at = |file: &Path, message: String| Diagnostic {
        file: file.display().to_string(),
        line: 1,
        column: 1,
        message,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(at(dir, format!("cannot read workflows directory: {e}")));
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    let mut out: Vec<(WorkflowId, PathBuf)> = Vec::new();
    for path in paths {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        match WorkflowId::parse(stem) {
            Err(m) => errors.push(at(
                &path,
                format!("file name is not a valid id: {m}; rename the file"),
            )),
            Ok(id) if out.iter().any(|(o, _)| o == &id) => {
                errors.push(at(
                    &path,
                    format!("id `{id}` is defined by two files (.yaml and .yml); remove one"),
                ));
            }
            Ok(id) => out.push((id, path)),
        }
    }
    out
}
