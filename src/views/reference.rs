//! A workflow's captured reference as `/api/workflows/{id}` shows it under `reference`, and
//! setting it from a logged request (`PUT …/reference`, `hookflow reference set`).

use super::{ViewError, ViewResult};
use crate::sender::{body, fields};
use crate::store::references::ReferenceRecord;
use crate::store::Store;
use crate::workflow::{paths, WorkflowEntry};
use serde_json::{json, Value};

/// The reference of a loaded workflow, or `None` before one is captured.
pub fn of(store: &Store, entry: &WorkflowEntry) -> ViewResult<Option<Value>> {
    let split = entry
        .workflow
        .as_ref()
        .ok()
        .and_then(|w| w.trigger.split.as_deref());
    Ok(store
        .reference(entry.id.as_str())?
        .map(|r| document(&r, split)))
}

/// Makes the logged request `request_id` of `workflow` its reference; a request of another
/// workflow, or one that never parsed, is refused.
pub fn set(store: &Store, workflow: &str, request_id: &str) -> ViewResult<()> {
    let req = super::requests::find(store, request_id)?;
    if req.workflow != workflow {
        return Err(ViewError::BadRequest(format!(
            "request `{}` belongs to workflow `{}`, not `{workflow}`",
            req.id, req.workflow
        )));
    }
    if req.payload.is_null() {
        return Err(ViewError::BadRequest(format!(
            "request `{}` has no parsed payload (it was {}); pick a request that parsed",
            req.id,
            req.status.as_str()
        )));
    }
    let record = ReferenceRecord {
        request_id: req.id,
        captured_at: req.received_at,
        payload: req.payload,
    };
    store.set_reference(workflow, &record)?;
    Ok(())
}

/// `{"request_id", "captured_at", "payload", "fields"}`; fields are paths into one item (what
/// `mapping` sees), so for a split array they are those of the first element.
pub fn document(r: &ReferenceRecord, split: Option<&str>) -> Value {
    let first_item = match split {
        Some(p) => paths::select(p, &r.payload)
            .ok()
            .and_then(|v| v.into_iter().next()),
        None => body::default_split(r.payload.clone()).into_iter().next(),
    }
    .unwrap_or(Value::Null);
    json!({
        "request_id": r.request_id,
        "captured_at": r.captured_at,
        "payload": r.payload,
        "fields": fields::flatten(&first_item),
    })
}
