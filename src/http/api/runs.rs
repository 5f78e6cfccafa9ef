//! `/api/runs`: every run with each step's input, output and error.

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use crate::store::runs::RunFilter;
use crate::views::runs as views;
use serde::Deserialize;
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

async fn list(s: Arc<HttpState>, q: RunsQuery) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit)?;
    let page = views::list(s.store(), &s.cursors, &q.filter, q.cursor.as_deref(), limit)?;
    Ok(warp::reply::json(&page).into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    Ok(warp::reply::json(&views::one(s.store(), &id)?).into_response())
}
