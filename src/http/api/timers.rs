//! `/api/timers`: everything scheduled (run waits, enrolment steps), due time first.

use super::{reply, with, HttpState};
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::store::timers::TimerKind;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

#[derive(Debug, Deserialize)]
struct TimersQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/timers?limit=&cursor=`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path!("timers")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<TimersQuery>())
        .and(with(state))
        .then(|q: TimersQuery, s: Arc<HttpState>| reply(list(s, q)))
        .boxed()
}

async fn list(s: Arc<HttpState>, q: TimersQuery) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit)?;
    let cursor = s.cursors.open("timers", q.cursor.as_deref())?;
    let store = s.store().clone();
    let page = tokio::task::spawn_blocking(move || store.timers(cursor.as_deref(), limit))
        .await
        .map_err(ApiError::store)?
        .map_err(|e| match e {
            crate::store::StoreError::Corrupt { message, .. } => ApiError::bad_request(message),
            other => ApiError::store(other),
        })?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            let mut v = json!({"id": t.id, "kind": t.kind.name(), "due_at": rfc3339(t.due_at)});
            match &t.kind {
                TimerKind::RunWait { run_id } => v["run_id"] = json!(run_id),
                TimerKind::SequenceStep {
                    contact_id,
                    sequence,
                } => {
                    v["contact_id"] = json!(contact_id);
                    v["sequence"] = json!(sequence);
                }
            }
            v
        })
        .collect();
    Ok(warp::reply::json(
        &json!({"items": items, "next_cursor": s.cursors.seal("timers", page.next_cursor)}),
    )
    .into_response())
}
