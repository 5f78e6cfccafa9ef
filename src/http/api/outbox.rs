//! `/api/outbox`: every email hookflow queued, sent, failed or skipped, with the message.

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use crate::store::outbox::OutboxState;
use crate::views::outbox as views;
use serde::Deserialize;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

#[derive(Debug, Deserialize)]
struct OutboxQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    state: Option<OutboxState>,
    /// Only the emails sent to this contact (a scan, like `state`).
    contact: Option<String>,
}

/// `GET /api/outbox?state=&contact=`, `GET /api/outbox/{id}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let list = warp::path!("outbox")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<OutboxQuery>())
        .and(with(state.clone()))
        .then(|q: OutboxQuery, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("outbox" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    list.or(one).unify().boxed()
}

async fn list(s: Arc<HttpState>, q: OutboxQuery) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit)?;
    let page = views::list(
        s.store(),
        &s.cursors,
        q.state,
        q.contact.as_deref(),
        q.cursor.as_deref(),
        limit,
    )?;
    Ok(warp::reply::json(&page).into_response())
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    Ok(warp::reply::json(&views::one(s.store(), &id)?).into_response())
}
