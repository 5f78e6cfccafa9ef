//! `/api/outbox` documents: every email queued, sent, failed or skipped, with the message.

use super::cursor::Cursors;
use super::{ViewError, ViewResult};
use crate::domain::time::rfc3339;
use crate::store::outbox::{OutboxRecord, OutboxState};
use crate::store::Store;
use serde_json::{json, Value};

/// The record with times as RFC 3339.
fn view(r: &OutboxRecord) -> Value {
    let mut v = serde_json::to_value(r).expect("outbox records serialise");
    v["created_at"] = json!(rfc3339(r.created_at));
    v["next_attempt_at"] = json!(rfc3339(r.next_attempt_at));
    v["sent_at"] = json!(r.sent_at.map(rfc3339));
    v
}

/// `{"items", "next_cursor"}`: one page of emails, with a state or contact filter.
pub fn list(
    store: &Store,
    cursors: &Cursors,
    state: Option<OutboxState>,
    contact: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> ViewResult<Value> {
    let cursor = cursors.open("outbox", cursor)?;
    let page = store
        .outbox
        .list(state, contact, cursor.as_deref(), limit)?;
    let items: Vec<Value> = page.items.iter().map(view).collect();
    Ok(json!({"items": items, "next_cursor": cursors.seal("outbox", page.next_cursor)}))
}

/// One email with its rendered message.
pub fn one(store: &Store, id: &str) -> ViewResult<Value> {
    let r = store
        .outbox
        .get(id)?
        .ok_or_else(|| ViewError::NotFound(format!("no email `{id}`")))?;
    let mut v = view(&r);
    v["message"] = match crate::mail::message::render(&r) {
        Ok(bytes) => json!(String::from_utf8_lossy(&bytes)),
        Err(e) => json!(format!("(cannot be rendered: {e})")),
    };
    Ok(v)
}
