//! `/api/clock`: which clock drives time, and moving a manual one forward.

use super::{reply, with, HttpState};
use crate::domain::duration::parse_duration;
use crate::engine::scheduler::AdvanceError;
use crate::http::error::ApiError;
use serde_json::Value;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// `GET /api/clock`, `POST /api/clock/advance {"by": "3d"}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let show = warp::path!("clock")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state.clone()))
        .then(|s: Arc<HttpState>| reply(show(s)));
    let advance = warp::path!("clock" / "advance")
        .and(warp::post())
        .and(super::guard(state.clone()))
        .and(warp::body::content_length_limit(16 * 1024))
        .and(warp::body::bytes())
        .and(with(state))
        .then(|body: bytes::Bytes, s: Arc<HttpState>| reply(advance(s, body)));
    show.or(advance).unify().boxed()
}

async fn show(s: Arc<HttpState>) -> Result<Response, ApiError> {
    let clock = s.worker.clock();
    Ok(warp::reply::json(&crate::views::clock::show(clock)).into_response())
}

async fn advance(s: Arc<HttpState>, body: bytes::Bytes) -> Result<Response, ApiError> {
    let by = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => match v.get("by") {
            Some(Value::String(by)) => by.clone(),
            _ => {
                return Err(ApiError::bad_request(
                    r#"body must be {"by": DURATION}, e.g. {"by": "3d"} or {"by": "1h30m"}"#,
                ))
            }
        },
        Err(e) => return Err(ApiError::bad_request(format!("body is not JSON: {e}"))),
    };
    let d = parse_duration(&by).map_err(ApiError::bad_request)?;
    let by_ms = i64::try_from(d.as_millis())
        .map_err(|_| ApiError::bad_request(format!("duration `{by}` is too large")))?;
    let worker = s.worker.clone();
    let done = tokio::task::spawn_blocking(move || worker.advance_clock(by_ms))
        .await
        .map_err(ApiError::store)?;
    match done {
        Ok(a) => Ok(warp::reply::json(&a).into_response()),
        Err(AdvanceError::RealClock) => {
            Err(ApiError::conflict(AdvanceError::RealClock.to_string()))
        }
        Err(AdvanceError::Store(e)) => Err(ApiError::store(e)),
    }
}
