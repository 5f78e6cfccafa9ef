//! `/api/contacts`: search, show (with timeline), merge-patch and delete contacts; CSV import
//! and export live in `csv`.

mod csv;

use super::{reply, with, HttpState};
use crate::http::error::ApiError;
use crate::store::contacts::{ChangeCtx, ContactError, ContactQuery};
use serde_json::{json, Value};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// `GET /api/contacts?q=&tag=&limit=&cursor=`, `GET|PATCH|DELETE /api/contacts/{id}`.
pub fn routes(state: Arc<HttpState>) -> BoxedFilter<(Response,)> {
    let transfer = csv::routes(state.clone());
    let list = warp::path!("contacts")
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with(state.clone()))
        .then(|q: String, s: Arc<HttpState>| reply(list(s, q)));
    let one = warp::path!("contacts" / String)
        .and(warp::get())
        .and(super::guard(state.clone()))
        .and(with(state.clone()))
        .then(|id: String, s: Arc<HttpState>| reply(one(s, id)));
    let patch = warp::path!("contacts" / String)
        .and(warp::patch())
        .and(super::guard(state.clone()))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(256 * 1024))
        .and(warp::body::bytes())
        .and(with(state.clone()))
        .then(
            |id: String, ct: Option<String>, body: bytes::Bytes, s: Arc<HttpState>| {
                reply(patch(s, id, ct, body))
            },
        );
    let delete = warp::path!("contacts" / String)
        .and(warp::delete())
        .and(super::guard(state.clone()))
        .and(with(state))
        .then(|id: String, s: Arc<HttpState>| reply(delete(s, id)));
    transfer
        .or(list)
        .unify()
        .or(one)
        .unify()
        .or(patch)
        .unify()
        .or(delete)
        .unify()
        .boxed()
}

fn contact_error(e: ContactError, id: &str) -> ApiError {
    match e {
        ContactError::NotFound => ApiError::not_found(format!("no contact `{id}`")),
        ContactError::EmailTaken { email, contact_id } => ApiError::conflict(format!(
            "email {email} already belongs to contact {contact_id}"
        )),
        ContactError::Invalid(msg) => ApiError::bad_request(msg),
        ContactError::NoRoom(msg) => ApiError::new(
            warp::http::StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            msg,
        ),
        other => ApiError::store(other),
    }
}

async fn list(s: Arc<HttpState>, raw: String) -> Result<Response, ApiError> {
    let mut query = ContactQuery {
        limit: 50,
        ..ContactQuery::default()
    };
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "q" => query.q = Some(v.into_owned()).filter(|q| !q.trim().is_empty()),
            "tag" => query.tags.push(v.into_owned()),
            "cursor" => query.cursor = s.cursors.open("contacts", Some(&v))?,
            "limit" => {
                query.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| ApiError::bad_request("limit must be between 1 and 1000"))?
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{other}`; use q, tag, limit, cursor"
                )))
            }
        }
    }
    let (items, next) = s
        .contacts()
        .list(&query, &s.region)
        .map_err(|e| contact_error(e, ""))?;
    Ok(
        warp::reply::json(
            &json!({"items": items, "next_cursor": s.cursors.seal("contacts", next)}),
        )
        .into_response(),
    )
}

async fn one(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let trees = s.contacts();
    let contact = trees
        .get(&id)
        .map_err(|e| contact_error(e, &id))?
        .ok_or_else(|| ApiError::not_found(format!("no contact `{id}`")))?;
    let timeline = trees.timeline(&id).map_err(|e| contact_error(e, &id))?;
    let mut out = serde_json::to_value(contact).expect("contacts serialise");
    out["timeline"] = serde_json::to_value(timeline).expect("timeline serialises");
    Ok(warp::reply::json(&out).into_response())
}

/// The body of a merge patch (RFC 7396): sent as `application/merge-patch+json` or, as most
/// clients do, `application/json`; any other type is 415.
fn merge_patch_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    if let Some(ct) = content_type {
        let essence = ct.split(';').next().unwrap_or("").trim();
        let known = ["application/merge-patch+json", "application/json"];
        if !known.iter().any(|k| essence.eq_ignore_ascii_case(k)) {
            return Err(ApiError::new(
                warp::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("cannot merge-patch with `{essence}`: send application/merge-patch+json"),
            ));
        }
    }
    // serde_json's message ends with "at line L column C".
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

async fn patch(
    s: Arc<HttpState>,
    id: String,
    content_type: Option<String>,
    body: bytes::Bytes,
) -> Result<Response, ApiError> {
    let body = merge_patch_body(content_type.as_deref(), &body)?;
    let ctx = ChangeCtx::api(s.intake.now_ms());
    let contact = s
        .contacts()
        .merge_patch(&id, &body, &s.region, &ctx)
        .map_err(|e| contact_error(e, &id))?;
    s.intake.flush().await.map_err(ApiError::store)?;
    Ok(warp::reply::json(&contact).into_response())
}

async fn delete(s: Arc<HttpState>, id: String) -> Result<Response, ApiError> {
    let contact = s
        .contacts()
        .delete(&id)
        .map_err(|e| contact_error(e, &id))?;
    s.intake.flush().await.map_err(ApiError::store)?;
    Ok(warp::reply::json(&json!({"deleted": contact.id})).into_response())
}
