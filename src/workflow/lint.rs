//! Warnings that need the captured reference payload: a mapping path that matches nothing there
//! is most likely a typo (`$.emial`) and would give `null` on every run.

use super::model::{Diagnostic, Workflow};
use super::paths::select;
use serde_json::Value;

/// One warning per mapping path that matches nothing in `reference` (split into items first,
/// as a request would be, and checked against the first item).
pub fn lint_mapping(wf: &Workflow, file_label: &str, reference: &Value) -> Vec<Diagnostic> {
    let item = first_item(wf, reference);
    wf.mapping
        .iter()
        .filter(|m| select(&m.path, &item).map(|v| v.is_empty()).unwrap_or(true))
        .map(|m| Diagnostic {
            file: file_label.to_string(),
            line: m.pos.line,
            column: m.pos.column,
            message: format!(
                "mapping `{}`: `{}` matches nothing in the captured reference payload",
                m.name, m.path
            ),
        })
        .collect()
}

/// Mapping paths are relative to one item, so split the reference like a request.
fn first_item(wf: &Workflow, reference: &Value) -> Value {
    let items = match (&wf.trigger.split, reference) {
        (Some(path), _) => select(path, reference).unwrap_or_default(),
        (None, Value::Array(items)) => items.clone(),
        (None, other) => vec![other.clone()],
    };
    items.into_iter().next().unwrap_or(Value::Null)
}
