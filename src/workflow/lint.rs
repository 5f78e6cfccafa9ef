//! Warnings that need the captured reference payload: a mapping path or a `{{ trigger.… }}` path
//! that matches nothing there is most likely a typo (`$.emial`, `trigger.appointment.practitionr`)
//! and would give `null` or fail the step on every run. A payload may vary, so these are warnings,
//! each with the closest path that does exist. `hookflow check` and `GET /api/workflows/{id}`
//! both call [`workflow_warnings`], so they always agree.

use super::model::{Diagnostic, Workflow, WorkflowEntry};
use super::paths::select;
use super::suggest::nearest;
use crate::sender::fields::flatten;
use serde_json::Value;

/// Dotted paths listed from a reference for suggestions; a bigger payload is only cut short.
const MAX_PATHS: usize = 2_000;

/// Every warning of one workflow file: those found at load, and, given its captured reference
/// payload, each mapping path and unguarded `trigger.…` path that matches nothing in the
/// reference's first item (split as a request would be). No reference, no comparison.
pub fn workflow_warnings(entry: &WorkflowEntry, reference: Option<&Value>) -> Vec<Diagnostic> {
    let mut out = entry.warnings.clone();
    if let (Ok(wf), Some(reference)) = (&entry.workflow, reference) {
        let label = entry.file.display().to_string();
        out.extend(lint_mapping(wf, &label, reference));
        out.extend(lint_reads(wf, reference));
    }
    out
}

/// One warning per mapping path that matches nothing in `reference`.
pub fn lint_mapping(wf: &Workflow, file_label: &str, reference: &Value) -> Vec<Diagnostic> {
    let item = first_item(wf, reference);
    let fields = flatten(&item);
    let candidates = fields.iter().map(|f| f.path.as_str());
    wf.mapping
        .iter()
        .filter(|m| select(&m.path, &item).map(|v| v.is_empty()).unwrap_or(true))
        .map(|m| Diagnostic {
            file: file_label.to_string(),
            line: m.pos.line,
            column: m.pos.column,
            message: format!(
                "mapping `{}`: `{}` matches nothing in the captured reference{}",
                m.name,
                m.path,
                closest(&m.path, candidates.clone())
            ),
        })
        .collect()
}

/// One warning per `trigger.…` path the templates read that the reference item does not have.
fn lint_reads(wf: &Workflow, reference: &Value) -> Vec<Diagnostic> {
    let item = first_item(wf, reference);
    wf.reads
        .iter()
        .filter(|r| !has_path(&item, &r.path))
        .map(|r| {
            let root = r.path.split('.').next().unwrap_or("trigger");
            let mut known = Vec::new();
            dotted(&item, root, &mut known);
            Diagnostic {
                file: r.file.clone(),
                line: r.pos.line,
                column: r.pos.column,
                message: format!(
                    "`{}` is not in the captured reference{}",
                    r.path,
                    closest(&r.path, known.iter().map(String::as_str))
                ),
            }
        })
        .collect()
}

fn closest<'a>(path: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match nearest(path, candidates) {
        Some(c) => format!("; closest existing path: `{c}`"),
        None => String::new(),
    }
}

/// Whether `item` has the dotted `path` (its first segment names the item itself).
fn has_path(item: &Value, path: &str) -> bool {
    let mut value = item;
    for seg in path.split('.').skip(1) {
        let next = match value {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => value = v,
            None => return false,
        }
    }
    true
}

/// Every dotted path of `value`'s objects under `prefix` (`trigger.appointment.start`).
fn dotted(value: &Value, prefix: &str, out: &mut Vec<String>) {
    let Value::Object(map) = value else { return };
    for (key, child) in map {
        if out.len() >= MAX_PATHS {
            return;
        }
        let path = format!("{prefix}.{key}");
        out.push(path.clone());
        dotted(child, &path, out);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_are_walked_through_objects_and_indexes() {
        let item = json!({"appointment": {"practitioner": "Dr. Ng"}, "items": [{"sku": "A"}]});
        assert!(has_path(&item, "trigger.appointment.practitioner"));
        assert!(has_path(&item, "trigger.items.0.sku"));
        assert!(!has_path(&item, "trigger.appointment.practitionr"));
        assert!(!has_path(&item, "trigger.appointment.practitioner.name"));
        let mut known = Vec::new();
        dotted(&item, "trigger", &mut known);
        assert_eq!(
            nearest(
                "trigger.appointment.practitionr",
                known.iter().map(String::as_str)
            ),
            Some("trigger.appointment.practitioner")
        );
    }
}
