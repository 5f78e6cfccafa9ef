//! The events and their JSON (see the live events contract): ids, statuses and times only.

use serde::Serialize;
use serde_json::Value;

/// Something that happened, as readers of `/api/events` see it (`at` is added when published).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Request(RequestEvent),
    Run(RunEvent),
    Email(EmailEvent),
    Timer(TimerEvent),
    Workflow(WorkflowEvent),
}

/// A request was stored (or refused and logged).
#[derive(Debug, Clone, Serialize)]
pub struct RequestEvent {
    pub request_id: String,
    pub workflow: String,
    pub method: String,
    /// `accepted`, `captured`, `filtered`, `duplicate` or `rejected`.
    pub status: String,
    pub http_status: u16,
    /// The error code of a rejected request (`unauthorized`, `rate_limited`, …).
    pub reason: Option<String>,
    pub items: Vec<ItemEvent>,
}

/// One item of a request.
#[derive(Debug, Clone, Serialize)]
pub struct ItemEvent {
    pub index: usize,
    pub status: String,
    pub run_id: Option<String>,
}

/// A run was queued, waits, or finished.
#[derive(Debug, Clone, Serialize)]
pub struct RunEvent {
    pub run_id: String,
    pub workflow: String,
    pub request_id: String,
    pub contact_id: Option<String>,
    pub status: String,
    /// The failing or waiting step.
    pub step: Option<StepEvent>,
}

/// The step a run failed or waits at.
#[derive(Debug, Clone, Serialize)]
pub struct StepEvent {
    /// The step's position, e.g. `[4, "then", 0]`.
    pub path: Value,
    pub kind: String,
    pub status: String,
    /// The error with payload values left out (see [`super::redact`]).
    pub error: Option<String>,
}

/// An email changed state.
#[derive(Debug, Clone, Serialize)]
pub struct EmailEvent {
    pub email_id: String,
    pub run_id: Option<String>,
    pub contact_id: Option<String>,
    pub workflow: Option<String>,
    /// `queued`, `sending`, `sent`, `failed` or `skipped`.
    pub state: String,
    pub attempts: u32,
}

/// A timer was scheduled or fired.
#[derive(Debug, Clone, Serialize)]
pub struct TimerEvent {
    pub timer_id: String,
    /// `run_wait` or `sequence_step`.
    pub kind: String,
    pub due_at: String,
    /// `scheduled` or `fired`.
    pub state: String,
    pub run_id: Option<String>,
    pub contact_id: Option<String>,
    pub sequence: Option<String>,
}

/// A workflow or sequence file was (re)loaded, broke, went away, or its URL or reference
/// changed.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowEvent {
    pub workflow: String,
    /// `workflow` or `sequence`.
    pub kind: String,
    /// `published`, `draft` or `error`.
    pub status: String,
    /// `loaded`, `error`, `removed`, `rotated` or `reference`.
    pub change: String,
}

impl WorkflowEvent {
    /// The event of a change to a workflow or sequence (`kind`: `workflow` or `sequence`).
    pub fn event(workflow: &str, kind: &str, status: &str, change: &str) -> Event {
        Event::Workflow(WorkflowEvent {
            workflow: workflow.to_string(),
            kind: kind.to_string(),
            status: status.to_string(),
            change: change.to_string(),
        })
    }
}

impl Event {
    /// The SSE event name: `request`, `run`, `email`, `timer` or `workflow`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Request(_) => "request",
            Event::Run(_) => "run",
            Event::Email(_) => "email",
            Event::Timer(_) => "timer",
            Event::Workflow(_) => "workflow",
        }
    }

    /// The workflow the event concerns, for `?workflow=`.
    pub fn workflow(&self) -> Option<&str> {
        match self {
            Event::Request(e) => Some(&e.workflow),
            Event::Run(e) => Some(&e.workflow),
            Event::Email(e) => e.workflow.as_deref(),
            Event::Timer(_) => None,
            Event::Workflow(e) => Some(&e.workflow),
        }
    }

    /// `{"type", "at", …fields}`: the variant's own JSON with the two put first (written
    /// directly; a `Value` in between cost the committer, which publishes every request).
    pub fn to_json(&self, at: &str) -> String {
        let fields = match self {
            Event::Request(e) => serde_json::to_string(e),
            Event::Run(e) => serde_json::to_string(e),
            Event::Email(e) => serde_json::to_string(e),
            Event::Timer(e) => serde_json::to_string(e),
            Event::Workflow(e) => serde_json::to_string(e),
        }
        .expect("events always serialise");
        let at = serde_json::to_string(at).expect("a string serialises");
        let mut out = String::with_capacity(fields.len() + at.len() + 24);
        out.push_str("{\"type\":\"");
        out.push_str(self.kind());
        out.push_str("\",\"at\":");
        out.push_str(&at);
        match fields.strip_prefix('{').filter(|rest| *rest != "}") {
            Some(rest) => {
                out.push(',');
                out.push_str(rest);
            }
            None => out.push('}'),
        }
        out
    }
}
