//! Resolved workflows: every value parsed, every secret expanded, every JSONPath compiled.
//! The YAML-facing types live in `def`; this is what the rest of hookflow uses.

use crate::domain::ids::WorkflowId;
use crate::sender::auth::AuthConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A line and column (1-based) in a workflow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// An error or warning tied to a place in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// `published` runs steps; `draft` stores and captures, runs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Published,
    Draft,
}

/// A loaded workflow, ready to receive requests and run.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: WorkflowId,
    pub name: String,
    pub status: Status,
    pub trigger: Trigger,
    /// Mapping name → JSONPath, in file order.
    pub mapping: Vec<MappingEntry>,
    pub steps: Vec<Step>,
    /// Hash of the file's bytes: runs stay on the version they started with.
    pub version: String,
    /// The file's text, stored with the version so a run can be resumed on it.
    pub source: Arc<str>,
    /// Every `trigger.…` path its templates read unguarded, for the reference lint.
    pub reads: Vec<TriggerRead>,
}

/// A `trigger.…` (or `inboundWebhookRequest.…`) path a template reads, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerRead {
    /// The workflow file, or the email template file the path is written in.
    pub file: String,
    /// Where in that file.
    pub pos: Pos,
    /// Dotted, as written: `trigger.appointment.start`.
    pub path: String,
}

/// The `trigger.inbound_webhook` block, resolved.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub auth: AuthConfig,
    /// JSONPath that splits a payload into items; `None` = split a top-level array only.
    pub split: Option<String>,
    /// Condition over one item; `None` = every item.
    pub filter: Option<Expr>,
    /// JSONPath (starts with `$`) or template giving an item's dedupe key.
    pub dedupe: Option<Arg>,
    pub dedupe_window: Duration,
    pub limits: Limits,
}

/// Per-workflow inbound limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_body: u64,
    /// Most items one request may carry after the split; more is a 413 and nothing runs.
    pub max_items: usize,
    /// Requests per second allowed on average, and the burst above it.
    pub rate: Option<Rate>,
}

/// A token-bucket rate: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// One `mapping:` entry.
#[derive(Debug, Clone)]
pub struct MappingEntry {
    pub name: String,
    pub path: String,
    /// True when the path can match at most one node (no wildcard, slice, filter, recursion).
    pub single: bool,
    /// The path as compiled at load: every run evaluates it, and compiling it again each time
    /// cost more than the evaluation.
    pub query: std::sync::Arc<jsonpath_rust::parser::model::JpQuery>,
    pub pos: Pos,
}

/// A step argument: a template string, or a literal YAML value (number, bool, null, list, map)
/// whose strings are themselves templates.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Template { source: String, pos: Pos },
    Literal { value: serde_json::Value, pos: Pos },
}

/// A condition expression (minijinja expression syntax, e.g. `has_tag('vip')`).
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub source: String,
    pub pos: Pos,
}

/// A step and where it was written.
#[derive(Debug, Clone)]
pub struct Step {
    pub kind: StepKind,
    pub pos: Pos,
}

/// Every step of the language.
#[derive(Debug, Clone)]
pub enum StepKind {
    FindContact(FindContact),
    UpdateContact(UpdateContact),
    AddTag(Vec<Arg>),
    RemoveTag(Vec<Arg>),
    AddToSequence(WorkflowId),
    RemoveFromSequence(WorkflowId),
    SendEmail(SendEmail),
    SetDnd(bool),
    Wait(Wait),
    If(If),
}

impl StepKind {
    /// The YAML key of the step (`find_contact`, `add_tag`, …).
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::FindContact(_) => "find_contact",
            StepKind::UpdateContact(_) => "update_contact",
            StepKind::AddTag(_) => "add_tag",
            StepKind::RemoveTag(_) => "remove_tag",
            StepKind::AddToSequence(_) => "add_to_sequence",
            StepKind::RemoveFromSequence(_) => "remove_from_sequence",
            StepKind::SendEmail(_) => "send_email",
            StepKind::SetDnd(_) => "set_dnd",
            StepKind::Wait(_) => "wait",
            StepKind::If(_) => "if",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FindContact {
    pub email: Option<Arg>,
    pub phone: Option<Arg>,
    pub first_name: Option<Arg>,
    pub last_name: Option<Arg>,
    pub create: bool,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateContact {
    pub first_name: Option<Arg>,
    pub last_name: Option<Arg>,
    pub email: Option<Arg>,
    pub phone: Option<Arg>,
    pub timezone: Option<Arg>,
    pub source: Option<Arg>,
    /// Custom field name → value, in file order.
    pub custom: Vec<(String, Arg)>,
}

#[derive(Debug, Clone)]
pub struct SendEmail {
    /// Default: the contact's email.
    pub to: Option<Arg>,
    pub cc: Vec<Arg>,
    pub bcc: Vec<Arg>,
    pub subject: Arg,
    pub body: Option<Arg>,
    pub html: Option<Arg>,
    /// Path under `workflows/` (e.g. `templates/booked.html`) and its text, read at load.
    pub template: Option<(String, Arc<str>)>,
    pub transactional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Wait {
    For(Duration),
    /// Next time of day `hour:minute` in the contact's timezone (or the configured one).
    Until {
        hour: u8,
        minute: u8,
    },
}

#[derive(Debug, Clone)]
pub struct If {
    pub condition: Expr,
    pub then: Vec<Step>,
    pub otherwise: Vec<Step>,
}

/// A loaded email sequence (`workflows/sequences/ID.yaml`).
#[derive(Debug, Clone)]
pub struct Sequence {
    pub id: WorkflowId,
    pub name: String,
    /// Only `send_email`, `wait`, `add_tag`, `remove_tag`, `set_dnd`.
    pub steps: Vec<Step>,
    pub version: String,
    pub source: Arc<str>,
}

/// One workflow file: loaded, or the first error that stopped it.
#[derive(Debug, Clone)]
pub struct WorkflowEntry {
    pub id: WorkflowId,
    pub file: PathBuf,
    pub workflow: Result<Arc<Workflow>, Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// One sequence file: loaded, or the first error that stopped it.
#[derive(Debug, Clone)]
pub struct SequenceEntry {
    pub id: WorkflowId,
    pub file: PathBuf,
    pub sequence: Result<Arc<Sequence>, Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Everything loaded from a workflows directory.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub workflows: BTreeMap<WorkflowId, WorkflowEntry>,
    pub sequences: BTreeMap<WorkflowId, SequenceEntry>,
    /// Problems with the directory itself or with files whose name is not a valid id.
    pub errors: Vec<Diagnostic>,
}

impl Catalog {
    /// Every error of every file, in file order.
    pub fn all_errors(&self) -> Vec<&Diagnostic> {
        let wf = self
            .workflows
            .values()
            .filter_map(|e| e.workflow.as_ref().err());
        let sq = self
            .sequences
            .values()
            .filter_map(|e| e.sequence.as_ref().err());
        self.errors.iter().chain(wf).chain(sq).collect()
    }
}
