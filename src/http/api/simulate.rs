//! `POST /api/workflows/{id}/simulate`: a dry run of a payload against the current store —
//! mapping results, filter outcome and each step's outcome; writes and sends nothing.

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use crate::intake::SIMULATE_MAX_BODY;
use bytes::Bytes;
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
        .and(warp::body::content_length_limit(SIMULATE_MAX_BODY))
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
    let out = s
        .intake
        .simulate(s.executor.clone(), &id, ct.as_deref(), &body)
        .await?;
    Ok(warp::reply::json(&out).into_response())
}
