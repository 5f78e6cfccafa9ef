//! The `workflow` events of a reload: which files were loaded again, broke or went away.

use crate::events::{Event, WorkflowEvent};
use crate::workflow::{Catalog, Status};
use std::collections::BTreeMap;

/// One event per workflow or sequence whose file changed between `before` and `after`.
pub fn reload_changes(before: &Catalog, after: &Catalog) -> Vec<Event> {
    let old = states(before);
    let new = states(after);
    let mut out = Vec::new();
    for (key, state) in &new {
        if old.get(key) != Some(state) {
            let (status, change) = match state.status {
                "error" => ("error", "error"),
                s => (s, "loaded"),
            };
            out.push(workflow_event(&key.1, key.0, status, change));
        }
    }
    for (key, state) in &old {
        if !new.contains_key(key) {
            out.push(workflow_event(&key.1, key.0, state.status, "removed"));
        }
    }
    out
}

fn workflow_event(id: &str, kind: &str, status: &str, change: &str) -> Event {
    WorkflowEvent::event(id, kind, status, change)
}

#[derive(PartialEq)]
struct State {
    status: &'static str,
    /// The loaded version, or the error message.
    what: String,
}

fn states(c: &Catalog) -> BTreeMap<(&'static str, String), State> {
    let wfs = c.workflows.iter().map(|(id, e)| {
        let state = match &e.workflow {
            Ok(wf) => State {
                status: match wf.status {
                    Status::Published => "published",
                    Status::Draft => "draft",
                },
                what: wf.version.clone(),
            },
            Err(d) => State {
                status: "error",
                what: d.message.clone(),
            },
        };
        (("workflow", id.to_string()), state)
    });
    let seqs = c.sequences.iter().map(|(id, e)| {
        let state = match &e.sequence {
            Ok(s) => State {
                status: "published",
                what: s.version.clone(),
            },
            Err(d) => State {
                status: "error",
                what: d.message.clone(),
            },
        };
        (("sequence", id.to_string()), state)
    });
    wfs.chain(seqs).collect()
}
