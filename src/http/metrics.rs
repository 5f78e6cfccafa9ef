//! `GET /metrics`: Prometheus text (see [`crate::metrics`]), behind the admin token like `/api/*`.

use super::api::{guard, reply, with};
use super::error::ApiError;
use super::HttpState;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The scrape route.
pub fn route(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path!("metrics")
        .and(warp::get())
        .and(guard(state.clone()))
        .and(with(state))
        .then(|s: Arc<HttpState>| reply(scrape(s)))
        .boxed()
}

async fn scrape(s: Arc<HttpState>) -> Result<Response, ApiError> {
    let store = s.store().clone();
    let now = s.intake.now_ms();
    // The levels are counts over small trees, but still reads: off the async threads.
    let levels = tokio::task::spawn_blocking(move || store.levels(now))
        .await
        .map_err(ApiError::store)?
        .map_err(ApiError::store)?;
    let text = crate::metrics::render(&levels);
    Ok(warp::reply::with_header(text, "content-type", "text/plain; version=0.0.4").into_response())
}
