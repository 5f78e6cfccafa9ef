//! `GET /api/events`: the event bus as Server-Sent Events (see `crate::events`).
//!
//! `Last-Event-ID` (or `?last_event_id=`) replays the kept events after that id first;
//! `?workflow=` narrows the stream to one workflow. A `: keep-alive` comment every 15 s keeps
//! proxies from closing an idle stream; `retry: 2000` tells browsers how soon to reconnect.

use super::{with, HttpState};
use crate::events::{EventBus, Next};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::sse::Event as Sse;
use warp::{Filter, Reply};

#[derive(Debug, Deserialize)]
struct EventsQuery {
    workflow: Option<String>,
    last_event_id: Option<u64>,
}

/// `GET /api/events[?workflow=ID][&last_event_id=N]`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    warp::path!("events")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::<EventsQuery>())
        .and(warp::header::optional::<String>("last-event-id"))
        .and(with(state))
        .map(
            |q: EventsQuery, header: Option<String>, s: Arc<HttpState>| {
                // A header that is not a number (another server's ids) means "from now on".
                let last = header
                    .and_then(|h| h.trim().parse().ok())
                    .or(q.last_event_id);
                stream(s.events.clone(), last, q.workflow).into_response()
            },
        )
        .boxed()
}

fn stream(bus: Arc<EventBus>, last: Option<u64>, workflow: Option<String>) -> impl Reply {
    let sub = bus.subscribe(last);
    let retry = futures_util::stream::once(async {
        Ok::<_, Infallible>(Sse::default().retry(Duration::from_millis(2000)))
    });
    let events = futures_util::stream::unfold(sub, move |mut sub| {
        let workflow = workflow.clone();
        async move {
            loop {
                let event = match sub.next().await? {
                    Next::Event(p) => {
                        if workflow.is_some() && p.workflow() != workflow.as_deref() {
                            continue;
                        }
                        Sse::default()
                            .id(p.id.to_string())
                            .event(p.kind)
                            .data(p.data())
                    }
                    // No id: the reader's Last-Event-ID stays on the last event it got.
                    Next::Lost { from, to } => Sse::default().event("lost").data(
                        serde_json::json!({"type": "lost", "from": from, "to": to}).to_string(),
                    ),
                };
                return Some((Ok::<_, Infallible>(event), sub));
            }
        }
    });
    let keep_alive = warp::sse::keep_alive()
        .interval(Duration::from_secs(15))
        .text(" keep-alive");
    warp::sse::reply(keep_alive.stream(futures_util::StreamExt::chain(retry, events)))
}
