//! `/api/runs` documents: runs with each step's input, output and error; queued runs too.

use super::cursor::Cursors;
use super::{check_status, ViewError, ViewResult};
use crate::store::codec::Page;
use crate::store::queue::QueueEntry;
use crate::store::runs::RunFilter;
use crate::store::Store;
use serde_json::{json, Value};

const STATUSES: [&str; 5] = ["queued", "running", "waiting", "succeeded", "failed"];

/// `{"items", "next_cursor"}`: queued runs (oldest first) on the first page, then recorded runs.
pub fn list(
    store: &Store,
    cursors: &Cursors,
    filter: &RunFilter,
    cursor: Option<&str>,
    limit: usize,
) -> ViewResult<Value> {
    let cursor = cursors.open("runs", cursor)?;
    check_status(filter.status.as_deref(), &STATUSES)?;
    let mut items: Vec<Value> = Vec::new();
    // Queued runs have no record yet: they are listed (oldest first) before any recorded run.
    if cursor.is_none()
        && filter.contact.is_none()
        && filter.status.as_deref().is_none_or(|st| st == "queued")
    {
        for e in store.queued(None, limit)? {
            if filter.workflow.as_deref().is_none_or(|w| w == e.workflow) {
                items.push(queued_json(&e));
            }
        }
    }
    let page = if filter.status.as_deref() == Some("queued") {
        Page {
            items: Vec::new(),
            next_cursor: None,
        }
    } else {
        store.runs(
            filter,
            cursor.as_deref(),
            limit.saturating_sub(items.len()).max(1),
        )?
    };
    for r in page.items {
        let record = serde_json::to_value(r).expect("runs serialise");
        // A run that started between the two reads is listed once, as recorded.
        match items.iter_mut().find(|i| i["id"] == record["id"]) {
            Some(queued) => *queued = record,
            None => items.push(record),
        }
    }
    Ok(json!({"items": items, "next_cursor": cursors.seal("runs", page.next_cursor)}))
}

/// One run, recorded or still queued.
pub fn one(store: &Store, id: &str) -> ViewResult<Value> {
    if let Some(run) = store.run(id)? {
        return Ok(serde_json::to_value(run).expect("runs serialise"));
    }
    if let Some(e) = store.queued_run(id)? {
        return Ok(queued_json(&e));
    }
    // The worker may have moved it from the queue to the runs between the two reads.
    match store.run(id)? {
        Some(run) => Ok(serde_json::to_value(run).expect("runs serialise")),
        None => Err(ViewError::NotFound(format!("no run `{id}`"))),
    }
}

fn queued_json(e: &QueueEntry) -> Value {
    json!({
        "id": e.run_id, "workflow": e.workflow, "version": e.version, "request_id": e.request_id,
        "index": e.index, "contact_id": null, "status": "queued", "steps": [],
        "item": e.item,
    })
}
