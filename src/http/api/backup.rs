//! `GET /api/backup`: the whole store as one backup file, streamed while the server runs (see
//! [`crate::store::backup`] for the format and what it holds while writes continue).

use super::{guard, with, HttpState};
use crate::http::chunks;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The backup route.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path!("backup")
        .and(warp::get())
        .and(guard(state.clone()))
        .and(with(state))
        .map(|s: Arc<HttpState>| download(&s))
        .boxed()
}

fn download(s: &HttpState) -> Response {
    let store = s.store().clone();
    let (out, body) = chunks::channel();
    tokio::task::spawn_blocking(move || {
        let breaker = out.breaker();
        match store.backup(out) {
            Ok(summary) => tracing::info!(
                trees = summary.trees,
                records = summary.records,
                "backup written"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "backup stopped");
                breaker.fail(e.to_string());
            }
        }
    });
    let mut resp = warp::reply::stream(body).into_response();
    let headers = resp.headers_mut();
    headers.insert("content-type", "application/gzip".parse().expect("valid"));
    headers.insert(
        "content-disposition",
        "attachment; filename=\"hookflow.backup\""
            .parse()
            .expect("valid"),
    );
    resp
}
