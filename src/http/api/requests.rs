//! `/api/requests`: the request log.

use super::{reply, with, HttpState, ListQuery};
use crate::http::error::ApiError;
use crate::views::requests as views;
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
    let original = views::find(s.store(), &id)?;
    let answer = s.intake.replay(&original).await?;
    Ok(warp::reply::json(&answer).into_response())
}

async fn list(s: Arc<HttpState>, q: ListQuery) -> Result<Response, ApiError> {
    let page = views::list(
        s.store(),
        &s.cursors,
        q.workflow.as_deref(),
        q.status.as_deref(),
        q.cursor.as_deref(),
        q.limit()?,
    )?;
    Ok(warp::reply::json(&page).into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    Ok(warp::reply::json(&views::one(s.store(), &id)?).into_response())
}
