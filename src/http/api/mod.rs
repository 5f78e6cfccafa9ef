//! The admin API under `/api`, guarded by `HOOKFLOW_ADMIN_TOKEN` when it is set.

mod backup;
mod clock;
mod contacts;
mod events;
mod outbox;
mod requests;
mod reset;
mod runs;
mod sequences;
mod simulate;
mod timers;
mod workflows;

use super::error::{ApiError, Unauthorized};
use super::HttpState;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// All `/api/*` routes.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path("api")
        .and(
            workflows::routes(state.clone())
                .or(requests::routes(state.clone()))
                .unify()
                .or(runs::routes(state.clone()))
                .unify()
                .or(contacts::routes(state.clone()))
                .unify()
                .or(sequences::routes(state.clone()))
                .unify()
                .or(timers::routes(state.clone()))
                .unify()
                .or(clock::routes(state.clone()))
                .unify()
                .or(outbox::routes(state.clone()))
                .unify()
                .or(simulate::routes(state.clone()))
                .unify()
                .or(reset::routes(state.clone()))
                .unify()
                .or(backup::routes(state.clone()))
                .unify()
                .or(events::routes(state))
                .unify(),
        )
        .boxed()
}

/// Rejects requests without the admin token (when one is configured). Each route puts it after
/// its path and method filters, so an unknown path is a 404 and not a 401.
pub fn guard(state: Arc<HttpState>) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and_then(move |auth: Option<String>| {
            let expected = state.admin_token.clone();
            async move {
                let Some(expected) = expected else {
                    return Ok(());
                };
                let given = auth.as_deref().and_then(bearer_token).unwrap_or("");
                if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                    Ok(())
                } else {
                    Err(warp::reject::custom(Unauthorized(
                        "missing or wrong admin token: send Authorization: Bearer $HOOKFLOW_ADMIN_TOKEN",
                    )))
                }
            }
        })
        .untuple_one()
}

/// The token of an `Authorization: Bearer TOKEN` header; the scheme is case-insensitive
/// (RFC 9110 §11.1) and may be followed by several spaces.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// `?limit=&cursor=` of list routes.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    pub workflow: Option<String>,
    pub status: Option<String>,
}

impl ListQuery {
    /// The page size: default 50, at most 1000.
    pub fn limit(&self) -> Result<usize, ApiError> {
        page_limit(self.limit)
    }
}

/// The query of a list that fits on one page (workflows, sequences): a `cursor` is refused.
#[derive(Debug, Deserialize)]
pub struct OnePage {
    pub cursor: Option<String>,
}

/// A list route's `?limit=`: default 50, between 1 and 1000.
pub fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    Ok(crate::views::page_limit(limit)?)
}

/// Lets a handler return `Result<impl Reply, ApiError>`.
pub async fn reply<T: Reply>(
    handler: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Response {
    match handler.await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Shares state with handlers.
pub fn with<T: Clone + Send>(value: T) -> impl Filter<Extract = (T,), Error = Infallible> + Clone {
    warp::any().map(move || value.clone())
}
