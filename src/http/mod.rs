//! The HTTP surface: inbound hooks, the admin API and the health check, as warp filters.
//! Handlers parse, call the intake pipeline, the views or the engine, and answer; they never
//! touch sled, block on a flush or reach into another part's fields.

pub mod api;
pub mod chunks;
pub mod error;
pub mod hooks;
pub mod metrics;
pub mod page;
pub mod server;
pub mod unsubscribe;

use crate::intake::Intake;
use std::sync::Arc;
use std::time::Duration;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// What the HTTP handlers share.
pub struct HttpState {
    pub intake: Arc<Intake>,
    /// Runs dry runs for `simulate`.
    pub executor: Arc<crate::engine::executor::Executor>,
    /// Base of printed URLs (`--public-url`).
    pub public_url: String,
    /// Required on `/api/*` when set.
    pub admin_token: Option<String>,
    pub body_timeout: Duration,
    /// Region for phone numbers without a country code.
    pub region: String,
    /// The engine, for the clock and `clock advance`.
    pub worker: Arc<crate::engine::worker::Worker>,
    /// Seals and checks the `cursor` of list routes.
    pub cursors: crate::views::cursor::Cursors,
    /// What `/api/events` streams.
    pub events: Arc<crate::events::EventBus>,
}

impl HttpState {
    /// The store the admin views read and the contact routes change.
    pub fn store(&self) -> &crate::store::Store {
        self.intake.store()
    }

    /// The contacts the contact routes and the unsubscribe page change.
    pub fn contacts(&self) -> &std::sync::Arc<crate::store::contacts::ContactTrees> {
        &self.intake.store().contacts
    }
}

/// Every route, with errors rendered as `{"error": {"code", "message"}}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let health = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok"})).into_response());
    let hooks = hooks::route(state.intake.clone(), state.body_timeout);
    health
        .or(hooks)
        .unify()
        .or(unsubscribe::routes(state.clone()))
        .unify()
        .or(metrics::route(state.clone()))
        .unify()
        .or(api::routes(state))
        .unify()
        .or(page::routes())
        .unify()
        .recover(error::recover)
        .unify()
        .boxed()
}
