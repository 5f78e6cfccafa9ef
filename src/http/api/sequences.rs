//! `/api/sequences`: the loaded sequences with enrolment counts, and one sequence's enrolments
//! with each one's next step and due time.

use super::{reply, with, HttpState};
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::store::enrolments::EnrolmentRecord;
use crate::workflow::Sequence;
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// `GET /api/sequences`, `GET /api/sequences/{id}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let list = warp::path!("sequences")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<super::OnePage>())
        .and(with(state.clone()))
        .then(|q: super::OnePage, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("sequences" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    list.or(one).unify().boxed()
}

async fn list(s: Arc<HttpState>, q: super::OnePage) -> Result<Response, ApiError> {
    // One page only: no cursor was ever handed out for this list.
    s.cursors.open("sequences", q.cursor.as_deref())?;
    let counts = s.store().enrolment_counts().map_err(ApiError::store)?;
    let catalog = s.intake.catalog();
    let items: Vec<Value> = catalog
        .sequences
        .iter()
        .map(|(id, entry)| {
            let c = counts.get(id.as_str()).copied().unwrap_or_default();
            let (name, steps, version) = match &entry.sequence {
                Ok(seq) => (
                    Some(seq.name.clone()),
                    Some(seq.steps.len()),
                    Some(seq.version.clone()),
                ),
                Err(_) => (None, None, None),
            };
            json!({
                "id": id.as_str(), "name": name, "kind": "sequence", "steps": steps,
                "version": version, "error": entry.sequence.as_ref().err(),
                "enrolments": c,
            })
        })
        .collect();
    Ok(warp::reply::json(&json!({"items": items, "next_cursor": null})).into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let catalog = s.intake.catalog();
    let entry = catalog
        .sequences
        .iter()
        .find(|(k, _)| k.as_str() == id)
        .map(|(_, e)| e);
    let store = s.store().clone();
    let sid = id.clone();
    let enrolments = tokio::task::spawn_blocking(move || store.enrolments_of(&sid))
        .await
        .map_err(ApiError::store)?
        .map_err(ApiError::store)?;
    if entry.is_none() && enrolments.is_empty() {
        return Err(ApiError::not_found(format!("no sequence `{id}`")));
    }
    let current = entry.and_then(|e| e.sequence.as_ref().ok());
    let items: Vec<Value> = enrolments
        .iter()
        .map(|e| enrolment_json(e, current.map(|s| s.as_ref())))
        .collect();
    let mut counts = crate::store::enrolments::EnrolmentCounts::default();
    for e in &enrolments {
        match e.state {
            crate::domain::contact::EnrolmentState::Active => counts.active += 1,
            crate::domain::contact::EnrolmentState::Completed => counts.completed += 1,
            crate::domain::contact::EnrolmentState::Cancelled => counts.cancelled += 1,
        }
    }
    Ok(warp::reply::json(&json!({
        "id": id,
        "name": current.map(|s| s.name.clone()),
        "kind": "sequence",
        "version": current.map(|s| s.version.clone()),
        "error": entry.and_then(|e| e.sequence.as_ref().err()),
        "steps": current.map(|s| s.steps.iter().map(|st| st.kind.name()).collect::<Vec<_>>()),
        "counts": counts,
        "enrolments": items,
    }))
    .into_response())
}

fn enrolment_json(e: &EnrolmentRecord, current: Option<&Sequence>) -> Value {
    // The kind of the next step is known when the enrolment is on the loaded version.
    let next_kind = current
        .filter(|s| s.version == e.version && e.next_due_at.is_some())
        .map(|s| {
            s.steps
                .get(e.step)
                .map(|st| st.kind.name())
                .unwrap_or("end")
        });
    json!({
        "contact_id": e.contact_id,
        "state": e.state,
        "step": e.step,
        "next_step": e.next_due_at.map(|_| e.step),
        "next_step_kind": next_kind,
        "next_due_at": e.next_due_at.map(rfc3339),
        "version": e.version,
        "enrolled_at": rfc3339(e.enrolled_at),
        "updated_at": rfc3339(e.updated_at),
        "last_error": e.last_error,
    })
}
