//! `/unsubscribe/{token}`: GET shows a confirm button and changes nothing (mail scanners follow
//! links); POST (the button, or a mail client's RFC 8058 one-click) sets the contact's DND.

use super::HttpState;
use crate::domain::contact::Actor;
use crate::store::contacts::{set_dnd, ChangeCtx};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The two unsubscribe routes (public: the token is the credential).
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let s1 = state.clone();
    let show = warp::path!("unsubscribe" / String)
        .and(warp::get())
        .map(move |token: String| confirm_page(&s1, &token));
    let confirm =
        warp::path!("unsubscribe" / String)
            .and(warp::post())
            .then(move |token: String| {
                let s = state.clone();
                async move { unsubscribe(&s, &token).await }
            });
    show.or(confirm).unify().boxed()
}

fn contact_for(s: &HttpState, token: &str) -> Option<String> {
    s.store().outbox.contact_for_token(token).ok().flatten()
}

fn confirm_page(s: &HttpState, token: &str) -> Response {
    if contact_for(s, token).is_none() {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This unsubscribe link is not valid or has expired.</p>",
        );
    }
    let body = format!(
        "<p>Stop receiving marketing emails from us?</p>\
         <form method=\"post\" action=\"/unsubscribe/{token}\">\
         <button type=\"submit\">Unsubscribe</button></form>"
    );
    page(StatusCode::OK, "Unsubscribe", &body)
}

async fn unsubscribe(s: &HttpState, token: &str) -> Response {
    let Some(contact_id) = contact_for(s, token) else {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This unsubscribe link is not valid or has expired.</p>",
        );
    };
    let ctx = ChangeCtx {
        now: s.intake.now_ms(),
        run_id: None,
        step: None,
        actor: Actor::Unsubscribe,
    };
    let result = s.contacts().transaction(|tx| match tx.get(&contact_id)? {
        Some(c) => set_dnd(tx, &c, true, &ctx).map(|_| true),
        None => Ok(false),
    });
    let flushed = match result {
        Ok(_) => s.intake.flush().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match flushed {
        Ok(()) => {
            tracing::info!(contact_id = %contact_id, "contact unsubscribed");
            page(
                StatusCode::OK,
                "Unsubscribed",
                "<p>You are unsubscribed. You will get no more marketing emails from us.</p>",
            )
        }
        Err(e) => page_error(e),
    }
}

fn page_error(e: String) -> Response {
    tracing::error!(error = %e, "unsubscribe failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "<p>We could not record your request. Please try again in a minute.</p>",
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:4rem auto\"><h1>{title}</h1>{body}</body></html>"
    );
    warp::reply::with_status(warp::reply::html(html), status).into_response()
}
