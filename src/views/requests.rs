//! `/api/requests` documents: the request log's summaries and one request in full.

use super::cursor::Cursors;
use super::{check_status, ViewError, ViewResult};
use crate::store::requests::RequestRecord;
use crate::store::Store;
use serde_json::{json, Value};

const STATUSES: [&str; 5] = ["accepted", "captured", "filtered", "duplicate", "rejected"];

/// `{"items", "next_cursor"}`: one page of summaries, newest first.
pub fn list(
    store: &Store,
    cursors: &Cursors,
    workflow: Option<&str>,
    status: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> ViewResult<Value> {
    let cursor = cursors.open("requests", cursor)?;
    check_status(status, &STATUSES)?;
    let page = store.requests(workflow, status, cursor.as_deref(), limit)?;
    // Lists are summaries: the body and headers are on the detail route.
    let items: Vec<_> = page
        .items
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "workflow": r.workflow, "received_at": r.received_at,
                "method": r.method, "status": r.status, "http_status": r.http_status,
                "reason": r.reason, "body_size": r.body_size,
                "items": r.items,
            })
        })
        .collect();
    Ok(json!({"items": items, "next_cursor": cursors.seal("requests", page.next_cursor)}))
}

/// One request in full, with the answer hookflow gave.
pub fn one(store: &Store, id: &str) -> ViewResult<Value> {
    let record = find(store, id)?;
    let mut out = serde_json::to_value(&record).expect("requests serialise");
    out["answer"] = answer(&record);
    Ok(out)
}

/// The logged request `id`, or a not-found naming it.
pub fn find(store: &Store, id: &str) -> ViewResult<RequestRecord> {
    store
        .request(id)?
        .ok_or_else(|| ViewError::NotFound(format!("no request `{id}`")))
}

/// The body hookflow answered with, rebuilt from the record (the page shows it).
fn answer(r: &RequestRecord) -> Value {
    if (200..300).contains(&r.http_status) {
        return json!({"status": r.status, "request_id": r.id, "workflow": r.workflow,
            "items": r.items.iter().map(|i| json!({"index": i.index, "status": i.status,
            "run_id": i.run_id})).collect::<Vec<_>>()});
    }
    let code = match r.http_status {
        400 => "bad_request",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        _ => "workflow_unavailable",
    };
    json!({"error": {"code": code, "message": r.reason}})
}
