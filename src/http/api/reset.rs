//! `POST /api/reset {"all": bool}`: what `hookflow reset` calls on a running server.

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetIn {
    #[serde(default)]
    all: bool,
}

/// The reset route.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path!("reset")
        .and(warp::post())
        .and(super::guard(state.clone()))
        .and(warp::body::content_length_limit(1024))
        .and(warp::body::json())
        .and(with(state))
        .then(|body: ResetIn, s: Arc<HttpState>| reply(reset(s, body)))
        .boxed()
}

async fn reset(s: Arc<HttpState>, body: ResetIn) -> Result<Response, ApiError> {
    let worker = s.worker.clone();
    tokio::task::spawn_blocking(move || worker.reset(body.all))
        .await
        .map_err(ApiError::store)?
        .map_err(ApiError::store)?;
    tracing::warn!(all = body.all, "store reset");
    Ok(warp::reply::json(&json!({"reset": true, "all": body.all})).into_response())
}
