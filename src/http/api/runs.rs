//! `/api/runs`: every run with each step's input, output and error.

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use crate::store::runs::RunFilter;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

#[derive(Debug, Deserialize)]
struct RunsQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    #[serde(flatten)]
    filter: RunFilter,
}

/// `GET /api/runs?workflow=&status=&contact=`, `GET /api/runs/{id}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let list = warp::path!("runs")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<RunsQuery>())
        .and(with(state.clone()))
        .then(|q: RunsQuery, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("runs" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    list.or(one).unify().boxed()
}

const STATUSES: [&str; 5] = ["queued", "running", "waiting", "succeeded", "failed"];

async fn list(s: Arc<HttpState>, q: RunsQuery) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit)?;
    let cursor = s.cursors.open("runs", q.cursor.as_deref())?;
    if let Some(st) = q.filter.status.as_deref() {
        if !STATUSES.contains(&st) {
            return Err(ApiError::bad_request(format!(
                "unknown status `{st}`; use one of {}",
                STATUSES.join(", ")
            )));
        }
    }
    let store = &s.intake.store;
    let mut items: Vec<Value> = Vec::new();
    // Queued runs have no record yet: they are listed (oldest first) before any recorded run.
    if cursor.is_none()
        && q.filter.contact.is_none()
        && q.filter.status.as_deref().is_none_or(|st| st == "queued")
    {
        for e in store.queued(None, limit).map_err(ApiError::store)? {
            if q.filter.workflow.as_deref().is_none_or(|w| w == e.workflow) {
                items.push(queued_json(&e));
            }
        }
    }
    let page = if q.filter.status.as_deref() == Some("queued") {
        crate::store::codec::Page {
            items: Vec::new(),
            next_cursor: None,
        }
    } else {
        store
            .runs(
                &q.filter,
                cursor.as_deref(),
                limit.saturating_sub(items.len()).max(1),
            )
            .map_err(ApiError::store)?
    };
    for r in page.items {
        let record = serde_json::to_value(r).expect("runs serialise");
        // A run that started between the two reads is listed once, as recorded.
        match items.iter_mut().find(|i| i["id"] == record["id"]) {
            Some(queued) => *queued = record,
            None => items.push(record),
        }
    }
    Ok(warp::reply::json(
        &json!({"items": items, "next_cursor": s.cursors.seal("runs", page.next_cursor)}),
    )
    .into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let store = &s.intake.store;
    if let Some(run) = store.run(&id).map_err(ApiError::store)? {
        return Ok(warp::reply::json(&run).into_response());
    }
    if let Some(e) = store.queued_run(&id).map_err(ApiError::store)? {
        return Ok(warp::reply::json(&queued_json(&e)).into_response());
    }
    // The worker may have moved it from the queue to the runs between the two reads.
    match store.run(&id).map_err(ApiError::store)? {
        Some(run) => Ok(warp::reply::json(&run).into_response()),
        None => Err(ApiError::not_found(format!("no run `{id}`"))),
    }
}

fn queued_json(e: &crate::store::queue::QueueEntry) -> Value {
    json!({
        "id": e.run_id, "workflow": e.workflow, "version": e.version, "request_id": e.request_id,
        "index": e.index, "contact_id": null, "status": "queued", "steps": [],
        "item": e.item,
    })
}
