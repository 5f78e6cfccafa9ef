//! `POST /api/workflows/{id}/simulate`: a dry run of a payload against the current store —
//! mapping results, filter outcome and each step's outcome; writes and sends nothing.

use super::{reply, with, HttpState};
use crate::domain::time::rfc3339;
use crate::engine::context::run_context;
use crate::http::error::ApiError;
use crate::inbound::body;
use crate::intake::items;
use crate::workflow::{paths, Status};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The simulate route.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path!("workflows" / String / "simulate")
        .and(warp::post())
        .and(super::guard(state.clone()))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(1024 * 1024))
        .and(warp::body::bytes())
        .and(with(state))
        .then(
            |id: String, ct: Option<String>, body: Bytes, s: Arc<HttpState>| {
                reply(simulate(s, id, ct, body))
            },
        )
        .boxed()
}

async fn simulate(
    s: Arc<HttpState>,
    id: String,
    ct: Option<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let catalog = s.intake.catalog.current();
    let entry = catalog
        .workflows
        .iter()
        .find(|(k, _)| k.as_str() == id)
        .map(|(_, e)| e)
        .ok_or_else(|| ApiError::not_found(format!("no workflow `{id}`")))?;
    let wf = entry
        .workflow
        .as_ref()
        .map_err(|d| {
            ApiError::bad_request(format!(
                "workflow `{id}` has an error at {}:{}:{}: {}",
                d.file, d.line, d.column, d.message
            ))
        })?
        .clone();
    let payload = body::parse_payload(ct.as_deref().or(Some("application/json")), &body, "")
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let now = s.intake.clock.now_ms();
    let request =
        json!({"headers": {}, "query": {}, "received_at": rfc3339(now), "method": "POST"});
    let executor = s.executor.clone();
    let wf2 = wf.clone();
    let intake = s.intake.clone();
    let out = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for (index, item) in items::split(&wf2, &payload)?.into_iter().enumerate() {
            let mapping: Map<String, Value> =
                wf2.mapping.iter().map(|m| (m.name.clone(), paths::evaluate(m, &item))).collect();
            let ctx = run_context(&wf2, &item, &request, Value::Null, now);
            let (pass, filter_error) = items::filter(&intake, &wf2, &ctx);
            let (status, run) = if wf2.status == Status::Draft {
                ("captured", Value::Null)
            } else if !pass {
                ("filtered", Value::Null)
            } else {
                let trace = executor.simulate(&wf2, &item, &request)?;
                ("accepted", serde_json::to_value(trace).unwrap_or_default())
            };
            out.push(json!({"index": index, "status": status, "mapping": mapping, "filter_error": filter_error, "run": run}));
        }
        Ok(out)
    })
    .await
    .map_err(ApiError::store)?
    .map_err(ApiError::bad_request)?;
    Ok(
        warp::reply::json(&json!({"workflow": wf.id.as_str(), "dry_run": true, "items": out}))
            .into_response(),
    )
}
