//! `/api/outbox`: every email hookflow queued, sent, failed or skipped, with the message.

use super::{reply, with, HttpState};
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::store::outbox::{OutboxRecord, OutboxState};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

#[derive(Debug, Deserialize)]
struct OutboxQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    state: Option<OutboxState>,
    /// Only the emails sent to this contact (a scan, like `state`).
    contact: Option<String>,
}

/// `GET /api/outbox?state=&contact=`, `GET /api/outbox/{id}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let list = warp::path!("outbox")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<OutboxQuery>())
        .and(with(state.clone()))
        .then(|q: OutboxQuery, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("outbox" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    list.or(one).unify().boxed()
}

/// The record with times as RFC 3339.
fn view(r: &OutboxRecord) -> Value {
    let mut v = serde_json::to_value(r).expect("outbox records serialise");
    v["created_at"] = json!(rfc3339(r.created_at));
    v["next_attempt_at"] = json!(rfc3339(r.next_attempt_at));
    v["sent_at"] = json!(r.sent_at.map(rfc3339));
    v
}

async fn list(s: Arc<HttpState>, q: OutboxQuery) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit)?;
    let cursor = s.cursors.open("outbox", q.cursor.as_deref())?;
    let page = s
        .intake
        .store
        .outbox
        .list(q.state, q.contact.as_deref(), cursor.as_deref(), limit)
        .map_err(ApiError::store)?;
    let items: Vec<Value> = page.items.iter().map(view).collect();
    Ok(warp::reply::json(
        &json!({"items": items, "next_cursor": s.cursors.seal("outbox", page.next_cursor)}),
    )
    .into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let r = s
        .intake
        .store
        .outbox
        .get(&id)
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no email `{id}`")))?;
    let mut v = view(&r);
    v["message"] = match crate::mail::message::render(&r) {
        Ok(bytes) => json!(String::from_utf8_lossy(&bytes)),
        Err(e) => json!(format!("(cannot be rendered: {e})")),
    };
    Ok(warp::reply::json(&v).into_response())
}
