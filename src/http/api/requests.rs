//! `/api/requests`: the request log.

use super::{reply, with, HttpState, ListQuery};
use crate::http::error::ApiError;
use serde_json::json;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// `GET /api/requests?workflow=&status=`, `GET /api/requests/{id}`, `POST …/{id}/replay`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let list = warp::path!("requests")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<ListQuery>())
        .and(with(state.clone()))
        .then(|q: ListQuery, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("requests" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state.clone()))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    let replay = warp::path!("requests" / String / "replay")
        .and(warp::post())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(replay(s, id)));
    list.or(one).unify().or(replay).unify().boxed()
}

async fn replay(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let original = find(&s, &id)?;
    let answer = s.intake.replay(&original).await?;
    Ok(warp::reply::json(&answer).into_response())
}

const STATUSES: [&str; 5] = ["accepted", "captured", "filtered", "duplicate", "rejected"];

async fn list(s: Arc<HttpState>, q: ListQuery) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let cursor = s.cursors.open("requests", q.cursor.as_deref())?;
    if let Some(st) = q.status.as_deref() {
        if !STATUSES.contains(&st) {
            return Err(ApiError::bad_request(format!(
                "unknown status `{st}`; use one of {}",
                STATUSES.join(", ")
            )));
        }
    }
    let page = s
        .intake
        .store
        .requests(
            q.workflow.as_deref(),
            q.status.as_deref(),
            cursor.as_deref(),
            limit,
        )
        .map_err(ApiError::store)?;
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
    Ok(warp::reply::json(
        &json!({"items": items, "next_cursor": s.cursors.seal("requests", page.next_cursor)}),
    )
    .into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let record = find(&s, &id)?;
    let mut out = serde_json::to_value(&record).expect("requests serialise");
    out["answer"] = answer(&record);
    Ok(warp::reply::json(&out).into_response())
}

/// The body hookflow answered with, rebuilt from the record (the page shows it).
fn answer(r: &crate::store::requests::RequestRecord) -> serde_json::Value {
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

/// The logged request `id`, or a 404 naming it.
fn find(s: &HttpState, id: &str) -> Result<crate::store::requests::RequestRecord, ApiError> {
    s.intake
        .store
        .request(id)
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no request `{id}`")))
}
