//! `POST /api/contacts/import` (text/csv) and `GET /api/contacts/export` (streamed text/csv).
//!
//! The import body, chunked or not (up to [`MAX_IMPORT`], far above the admin API's JSON
//! limits: 100,000 contacts are ~8 MiB), is checked as it arrives and written to a nameless
//! file in the data dir, then applied from there: the whole file is checked before any row is
//! applied, and memory stays a few buffers whatever its size. The
//! export is written by a blocking task into a small bounded channel that feeds the response
//! body: a slow client slows the walk over sled, and memory stays a few chunks whatever the
//! number of contacts.

use super::contact_error;
use crate::http::api::{guard, reply, with, HttpState};
use crate::http::chunks;
use crate::http::error::ApiError;
use crate::store::compact::growth_is_live;
use crate::store::contacts::{ChangeCtx, ContactQuery, ExportError, FileCheck};
use bytes::Buf;
use futures_util::{Stream, StreamExt};
use std::sync::Arc;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The largest CSV file an import takes (413 past it): some 500,000 typical rows, 100,000
/// with a dozen long custom fields. The file is spooled to disk while it is checked, so not
/// unlimited.
pub const MAX_IMPORT: u64 = 64 * 1024 * 1024;

/// The two CSV routes; they go before `/api/contacts/{id}`, which would take `export` for an id.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let import = warp::path!("contacts" / "import")
        .and(warp::post())
        .and(guard(state.clone()))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::stream())
        .and(with(state.clone()))
        .then(|ct: Option<String>, body, s: Arc<HttpState>| reply(import(s, ct, body)));
    let export = warp::path!("contacts" / "export")
        .and(warp::get())
        .and(guard(state.clone()))
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with(state))
        .then(|q: String, s: Arc<HttpState>| reply(export(s, q)));
    import.or(export).unify().boxed()
}

async fn import<B: Buf>(
    s: Arc<HttpState>,
    content_type: Option<String>,
    body: impl Stream<Item = Result<B, warp::Error>> + Unpin,
) -> Result<Response, ApiError> {
    check_csv_type(content_type.as_deref())?;
    let file = spool(body, s.store().dir()).await?;
    let ctx = ChangeCtx::import(s.intake.now_ms());
    let (store, region) = (s.store().clone(), s.region.clone());
    let report = tokio::task::spawn_blocking(move || {
        growth_is_live(&store, || {
            let file = std::io::BufReader::new(file);
            store.with_own_dictionary(|| store.contacts.import_checked(file, &region, &ctx))
        })
    })
    .await
    .map_err(ApiError::store)?
    .map_err(ApiError::store)?
    .map_err(|e| contact_error(e, ""))?;
    s.intake.flush().await.map_err(ApiError::store)?;
    Ok(warp::reply::json(&report).into_response())
}

/// Writes the body, chunked or not, to a nameless file in the data dir while checking it
/// (refused with 413 once it passes [`MAX_IMPORT`], with 400 when the check fails); returns
/// the file rewound. The file has no name from the start, so nothing is left behind by a
/// failed import or a crash.
async fn spool<B: Buf>(
    mut body: impl Stream<Item = Result<B, warp::Error>> + Unpin,
    dir: &std::path::Path,
) -> Result<std::fs::File, ApiError> {
    let path = dir.join(format!("import-{}.csv", ulid::Ulid::new()));
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(file)
    })
    .await
    .map_err(ApiError::store)?
    .map_err(ApiError::store)?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
    let mut check = FileCheck::default();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        size += chunk.remaining() as u64;
        if size > MAX_IMPORT {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "a contacts CSV may be at most {} MiB; split the file and import the parts",
                    MAX_IMPORT >> 20
                ),
            ));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            check.feed(part);
            out.write_all(part).await.map_err(ApiError::store)?;
            let n = part.len();
            chunk.advance(n);
        }
    }
    check.finish().map_err(ApiError::bad_request)?;
    out.flush().await.map_err(ApiError::store)?;
    let mut file = out.into_inner();
    file.rewind().await.map_err(ApiError::store)?;
    Ok(file.into_std().await)
}

/// `text/csv` (or `application/csv`), UTF-8 when a charset is named; else 415.
fn check_csv_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let refuse = |what: String| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{what}; send the file as `Content-Type: text/csv` (UTF-8)"),
        )
    };
    let Some(ct) = content_type else {
        return Err(refuse("no Content-Type".into()));
    };
    let mut parts = ct.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    if essence != "text/csv" && essence != "application/csv" {
        return Err(refuse(format!("Content-Type `{ct}` is not CSV")));
    }
    for param in parts {
        if let Some((name, value)) = param.split_once('=') {
            let value = value.trim().trim_matches('"');
            if name.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
                return Err(refuse(format!("charset `{value}` is not UTF-8")));
            }
        }
    }
    Ok(())
}

async fn export(s: Arc<HttpState>, raw: String) -> Result<Response, ApiError> {
    let mut query = ContactQuery::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "q" => query.q = Some(v.into_owned()).filter(|q| !q.trim().is_empty()),
            "tag" => query.tags.push(v.into_owned()),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{other}`; an export takes q and tag"
                )))
            }
        }
    }
    let (trees, region) = (s.contacts().clone(), s.region.clone());
    // The header needs every custom field name: a first pass, before the answer starts, so a
    // store failure here is still a clean 503.
    let columns = {
        let (trees, region, query) = (trees.clone(), region.clone(), query.clone());
        tokio::task::spawn_blocking(move || trees.export_columns(&query, &region))
            .await
            .map_err(ApiError::store)?
            .map_err(|e| contact_error(e, ""))?
    };
    let (out, body) = chunks::channel();
    tokio::task::spawn_blocking(move || {
        let breaker = out.breaker();
        if let Err(e) = trees.export_csv(&query, &region, &columns, out) {
            match &e {
                ExportError::Write(_) => tracing::debug!("contacts export: the client went away"),
                ExportError::Store(e) => tracing::warn!(error = %e, "contacts export stopped"),
            }
            breaker.fail(e.to_string());
        }
    });
    let mut resp = warp::reply::stream(body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        "text/csv; charset=utf-8".parse().expect("valid"),
    );
    headers.insert(
        "content-disposition",
        "attachment; filename=\"contacts.csv\""
            .parse()
            .expect("valid"),
    );
    Ok(resp)
}
