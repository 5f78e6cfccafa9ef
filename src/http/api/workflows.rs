//! `/api/workflows`: what is loaded, each workflow's URL, error, reference and counts.

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use crate::store::Store;
use crate::workflow::lint::workflow_warnings;
use crate::workflow::{Catalog, Diagnostic, Status};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The JSON of one workflow or sequence.
#[derive(Debug, Serialize)]
pub struct WorkflowOut {
    pub id: String,
    pub name: Option<String>,
    pub status: Option<Status>,
    pub url: Option<String>,
    pub kind: &'static str,
    pub error: Option<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    pub reference: Option<Value>,
    /// `[{"name", "path"}]`: what the page checks a request against the reference with.
    pub mapping: Vec<Value>,
    /// The trigger's `split` JSONPath, when it sets one.
    pub split: Option<String>,
    pub counts: Value,
}

/// `GET /api/workflows`, `GET /api/workflows/{id}`, reference `PUT`/`DELETE`, `rotate`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let list = warp::path!("workflows")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<super::OnePage>())
        .and(with(state.clone()))
        .then(|q: super::OnePage, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("workflows" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state.clone()))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    let set_ref = warp::path!("workflows" / String / "reference")
        .and(warp::put())
        .and(super::guard(state.clone()))
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .and(with(state.clone()))
        .then(|id: String, body: SetReference, s: Arc<HttpState>| {
            reply(set_reference(s, id, body))
        });
    let clear_ref = warp::path!("workflows" / String / "reference")
        .and(warp::delete())
        .and(super::guard(state.clone()))
        .and(with(state.clone()))
        .then(|id: String, s: Arc<HttpState>| reply(clear_reference(s, id)));
    let rotate = warp::path!("workflows" / String / "rotate")
        .and(warp::post())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(rotate(s, id)));
    list.or(one)
        .unify()
        .or(set_ref)
        .unify()
        .or(clear_ref)
        .unify()
        .or(rotate)
        .unify()
        .boxed()
}

async fn list(s: Arc<HttpState>, q: super::OnePage) -> Result<Response, ApiError> {
    // One page only: no cursor was ever handed out for this list.
    s.cursors.open("workflows", q.cursor.as_deref())?;
    let catalog = s.intake.catalog();
    let items = list_items(s.store(), &s.public_url, &catalog)?;
    Ok(warp::reply::json(&json!({"items": items, "next_cursor": null})).into_response())
}

/// Every workflow and sequence of one catalog snapshot: a reload during the listing cannot
/// take away an id that is half-way through.
fn list_items(
    store: &Store,
    public_url: &str,
    catalog: &Catalog,
) -> Result<Vec<WorkflowOut>, ApiError> {
    let ids = catalog.workflows.keys().chain(catalog.sequences.keys());
    let mut items = Vec::new();
    for id in ids {
        items.extend(view_in(store, public_url, catalog, id.as_str())?);
    }
    Ok(items)
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let out = view(&s, &id)?.ok_or_else(|| ApiError::not_found(format!("no workflow `{id}`")))?;
    Ok(warp::reply::json(&out).into_response())
}

/// The JSON of a workflow or sequence id, or `None` if no file has that id.
pub fn view(s: &HttpState, id: &str) -> Result<Option<WorkflowOut>, ApiError> {
    let catalog = s.intake.catalog();
    view_in(s.store(), &s.public_url, &catalog, id)
}

/// [`view`] within one catalog snapshot.
fn view_in(
    store: &Store,
    public_url: &str,
    catalog: &Catalog,
    id: &str,
) -> Result<Option<WorkflowOut>, ApiError> {
    if let Some(entry) = catalog.workflows.values().find(|e| e.id.as_str() == id) {
        let hook = store.hook_id_for(&entry.id).map_err(ApiError::store)?;
        let wf = entry.workflow.as_ref().ok();
        let split = wf.and_then(|w| w.trigger.split.as_deref());
        let record = store.reference(id).map_err(ApiError::store)?;
        let warnings = workflow_warnings(entry, record.as_ref().map(|r| &r.payload));
        let reference = record.map(|r| crate::views::reference::document(&r, split));
        return Ok(Some(WorkflowOut {
            id: id.to_string(),
            name: wf.map(|w| w.name.clone()),
            status: wf.map(|w| w.status),
            url: Some(format!("{public_url}/hooks/{}", hook.as_str())),
            kind: "workflow",
            error: entry.workflow.as_ref().err().cloned(),
            warnings,
            reference,
            mapping: wf
                .map(|w| {
                    w.mapping
                        .iter()
                        .map(|m| json!({"name": m.name, "path": m.path}))
                        .collect()
                })
                .unwrap_or_default(),
            split: split.map(str::to_string),
            counts: store.counts(id).map_err(ApiError::store)?,
        }));
    }
    if let Some(entry) = catalog.sequences.values().find(|e| e.id.as_str() == id) {
        let seq = entry.sequence.as_ref().ok();
        return Ok(Some(WorkflowOut {
            id: id.to_string(),
            name: seq.map(|q| q.name.clone()),
            status: seq.map(|_| Status::Published),
            url: None,
            kind: "sequence",
            error: entry.sequence.as_ref().err().cloned(),
            warnings: entry.warnings.clone(),
            reference: None,
            mapping: Vec::new(),
            split: None,
            counts: json!({}),
        }));
    }
    Ok(None)
}

#[derive(Debug, Deserialize)]
struct SetReference {
    request_id: String,
}

async fn set_reference(
    s: Arc<HttpState>,
    id: String,
    body: SetReference,
) -> Result<Response, ApiError> {
    require_workflow(&s, &id)?;
    crate::views::reference::set(s.store(), &id, &body.request_id)?;
    s.intake.flush().await.map_err(ApiError::store)?;
    announce(&s, &id, "reference");
    one(s, id).await
}

async fn clear_reference(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    require_workflow(&s, &id)?;
    s.store().clear_reference(&id).map_err(ApiError::store)?;
    s.intake.flush().await.map_err(ApiError::store)?;
    announce(&s, &id, "reference");
    one(s, id).await
}

async fn rotate(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let wid = require_workflow(&s, &id)?;
    s.store().rotate_hook(&wid).map_err(ApiError::store)?;
    s.intake.flush().await.map_err(ApiError::store)?;
    tracing::info!(workflow = %id, "hook rotated");
    announce(&s, &id, "rotated");
    one(s, id).await
}

fn require_workflow(s: &HttpState, id: &str) -> Result<crate::domain::ids::WorkflowId, ApiError> {
    s.intake
        .catalog()
        .workflows
        .keys()
        .find(|k| k.as_str() == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no workflow `{id}`")))
}

/// Publishes a `workflow` event for an API change of a workflow.
fn announce(s: &HttpState, id: &str, change: &str) {
    let status = match view(s, id) {
        Ok(Some(w)) if w.error.is_some() => "error",
        Ok(Some(w)) if w.status == Some(Status::Draft) => "draft",
        _ => "published",
    };
    let event = crate::events::WorkflowEvent::event(id, "workflow", status, change);
    s.events.publish(event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::live::LiveCatalog;

    #[test]
    fn a_listing_keeps_its_snapshot_when_a_reload_removes_a_workflow_meanwhile() {
        let data = tempfile::tempdir().unwrap();
        let store = Store::open(data.path()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("visits.yaml");
        std::fs::write(
            &file,
            "name: Visits\nstatus: published\nsteps:\n  - add_tag: visit\n",
        )
        .unwrap();
        let live = LiveCatalog::load(dir.path());
        let snapshot = live.current();
        std::fs::remove_file(&file).unwrap();
        assert!(live.reload().workflows.is_empty());

        let items = list_items(&store, "http://h", &snapshot).unwrap();
        let ids: Vec<&str> = items.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["visits"]);
        assert!(items[0]
            .url
            .as_deref()
            .unwrap()
            .starts_with("http://h/hooks/"));
    }
}
