//! The admin page: a static shell (`/`) and its ES modules, CSS and icon (`/assets/...`),
//! embedded in the binary so `hookflow serve` needs no files beside it.
//!
//! The shell is public and carries no data: every piece of data comes from `/api/*` through
//! `fetch` with the token from sessionStorage. The Content-Security-Policy allows only our own
//! scripts (no inline script, no eval), so a payload value that slipped into HTML could still run
//! nothing; the page renders payload values as text anyway. Emails' HTML is shown in a sandboxed
//! `srcdoc` iframe, which inherits this policy: inline styles are allowed for it, remote images
//! and every script are not.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

/// The policy of every page answer: scripts and connections to this origin only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-src 'self' about:; \
object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `(path under /assets/, content type, bytes)` of every asset.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("page/style.css"),
    ),
    ("app.js", JS, include_str!("page/app.js")),
    ("api.js", JS, include_str!("page/api.js")),
    ("dom.js", JS, include_str!("page/dom.js")),
    ("diff.js", JS, include_str!("page/diff.js")),
    ("views/live.js", JS, include_str!("page/views/live.js")),
    (
        "views/workflows.js",
        JS,
        include_str!("page/views/workflows.js"),
    ),
    (
        "views/workflow.js",
        JS,
        include_str!("page/views/workflow.js"),
    ),
    (
        "views/request.js",
        JS,
        include_str!("page/views/request.js"),
    ),
    ("views/runs.js", JS, include_str!("page/views/runs.js")),
    (
        "views/contacts.js",
        JS,
        include_str!("page/views/contacts.js"),
    ),
    ("views/outbox.js", JS, include_str!("page/views/outbox.js")),
    ("views/time.js", JS, include_str!("page/views/time.js")),
    ("icon.svg", "image/svg+xml", include_str!("page/icon.svg")),
];

const JS: &str = "text/javascript; charset=utf-8";
const INDEX: &str = include_str!("page/index.html");

/// `GET /` (the shell) and `GET /assets/{path}`.
pub fn routes() -> BoxedFilter<(Response,)> {
    let index = warp::path::end()
        .and(warp::get())
        .and(warp::header::optional::<String>("if-none-match"))
        .map(|etag: Option<String>| answer("text/html; charset=utf-8", INDEX, etag));
    let asset = warp::path("assets")
        .and(warp::path::tail())
        .and(warp::get())
        .and(warp::header::optional::<String>("if-none-match"))
        .and_then(|tail: warp::path::Tail, etag: Option<String>| async move {
            ASSETS
                .iter()
                .find(|(p, _, _)| *p == tail.as_str())
                .map(|(_, ct, body)| answer(ct, body, etag))
                .ok_or_else(warp::reject::not_found)
        });
    index.or(asset).unify().boxed()
}

/// The asset with its headers, or a 304 when the browser's copy is current. `no-cache` makes
/// the browser ask each time (cheap on loopback), so a new binary is never hidden by a cache.
fn answer(content_type: &str, body: &'static str, if_none_match: Option<String>) -> Response {
    let etag = etag(body);
    let fresh = if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        warp::reply::with_status("", StatusCode::NOT_MODIFIED).into_response()
    } else {
        body.into_response()
    };
    let h = resp.headers_mut();
    let set = |h: &mut warp::http::HeaderMap, k, v: &str| {
        h.insert(k, HeaderValue::from_str(v).expect("ascii header"));
    };
    set(h, header::CONTENT_TYPE, content_type);
    set(h, header::CACHE_CONTROL, "no-cache");
    set(h, header::ETAG, &etag);
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Hook URLs are credentials: never leak the page's URL to another site.
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    resp.into_response()
}

fn etag(body: &str) -> String {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}
