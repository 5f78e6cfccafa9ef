//! `POST|PUT|GET /hooks/{hook_id}`: the inbound route practice systems call.

use super::error::{error_response, intake_response};
use super::server::ClientAddr;
use crate::intake::{Answer, Hook, InboundRequest, Intake, IntakeError, IntakeErrorKind, Target};
use crate::metrics;
use crate::workflow::trigger::DEFAULT_MAX_BODY;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use warp::http::{Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

/// The inbound route.
pub fn route(
    intake: Arc<Intake>,
    body_timeout: Duration,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("hooks" / String)
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::ext::optional::<ClientAddr>())
        .and(warp::body::stream())
        .then(
            move |hook: String, method: Method, headers, query, addr: Option<ClientAddr>, body| {
                let intake = intake.clone();
                let started = Instant::now();
                async move {
                    if !matches!(method, Method::GET | Method::POST | Method::PUT) {
                        let mut resp = error_response(
                            StatusCode::METHOD_NOT_ALLOWED,
                            "method_not_allowed",
                            "hooks accept POST, PUT and GET",
                        );
                        resp.headers_mut().insert(
                            http::header::ALLOW,
                            "GET, POST, PUT".parse().expect("static"),
                        );
                        return resp;
                    }
                    let hook = match intake.resolve(&hook) {
                        Ok(h) => h,
                        Err(e) => return intake_response(e),
                    };
                    let mut req = InboundRequest {
                        method: method.to_string(),
                        headers,
                        query,
                        body: Bytes::new(),
                        truncated: false,
                        body_size: 0,
                        remote: addr.map(|a| a.0),
                    };
                    match hook {
                        Hook::Ready(target) => {
                            let answered = ready(&intake, &target, req, body, body_timeout).await;
                            count(target.id.as_str(), started, answered.as_ref().ok());
                            match answered {
                                Ok(answer) => warp::reply::json(&answer).into_response(),
                                Err(resp) => resp,
                            }
                        }
                        Hook::Unavailable(hook) => {
                            // Read (within the default limit) so the 503 is logged with its body.
                            let read =
                                read_body(&mut req, DEFAULT_MAX_BODY, body_timeout, body).await;
                            let close =
                                read.is_err_and(|e| e.kind == IntakeErrorKind::PayloadTooLarge);
                            count(hook.id.as_str(), started, None);
                            refused(intake.unavailable(&hook, &req), close)
                        }
                    }
                }
            },
        )
}

/// A request to a loaded workflow: headers, body, then intake; `Err` is the refusal's answer.
async fn ready<S, B>(
    intake: &Intake,
    target: &Target,
    mut req: InboundRequest,
    body: S,
    body_timeout: Duration,
) -> Result<Answer, Response>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    if let Err(e) = intake.check_headers(target, &req) {
        return Err(intake_response(e));
    }
    if let Err(e) = read_body(&mut req, target.max_body(), body_timeout, body).await {
        let close = e.kind == IntakeErrorKind::PayloadTooLarge;
        return Err(refused(intake.reject(target, &req, e), close));
    }
    intake.receive(target, req).await.map_err(intake_response)
}

/// Counts an answer for `/metrics`: a 2xx by its status, items and latency, a refusal as
/// `rejected`. Only the workflow id and statuses become labels.
fn count(workflow: &str, started: Instant, answer: Option<&Answer>) {
    let Some(answer) = answer else {
        return metrics::request_answered(workflow, "rejected", None);
    };
    metrics::request_answered(workflow, answer.status.as_str(), Some(started.elapsed()));
    for item in &answer.items {
        metrics::item_stored(workflow, item.status.as_str());
    }
}

/// The refusal's answer; `close` when the rest of the body was not read, so the connection
/// cannot be reused.
fn refused(err: IntakeError, close: bool) -> Response {
    let mut resp = intake_response(err);
    if close {
        resp.headers_mut()
            .insert(http::header::CONNECTION, "close".parse().expect("static"));
    }
    resp
}

/// Reads the body into `req` within `limit` bytes (as sent, before any decoding); what was read
/// is kept on failure for the rejected log.
async fn read_body<S, B>(
    req: &mut InboundRequest,
    limit: u64,
    timeout: Duration,
    body: S,
) -> Result<(), IntakeError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let read = match content_length(&req.headers) {
        Some(n) if n > limit => Err(ReadError::TooLarge(Bytes::new(), n)),
        _ => read_limited(body, limit, timeout).await,
    };
    let (kind, message) = match read {
        Ok(bytes) => {
            req.body_size = bytes.len() as u64;
            req.body = bytes;
            return Ok(());
        }
        Err(ReadError::TooLarge(partial, size)) => {
            req.body = partial;
            req.truncated = true;
            req.body_size = size;
            (
                IntakeErrorKind::PayloadTooLarge,
                format!("body larger than this workflow's limit of {limit} bytes"),
            )
        }
        Err(ReadError::Timeout) => (
            IntakeErrorKind::BadRequest,
            format!("body not received within {}s", timeout.as_secs()),
        ),
        Err(ReadError::Broken(msg)) => (
            IntakeErrorKind::BadRequest,
            format!("could not read body: {msg}"),
        ),
    };
    Err(IntakeError::new(kind, message))
}

fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

enum ReadError {
    /// What was read before the limit, and the size seen so far.
    TooLarge(Bytes, u64),
    Timeout,
    Broken(String),
}

/// Reads a (possibly chunked) body, stopping as soon as it passes `limit`.
async fn read_limited<S, B>(stream: S, limit: u64, timeout: Duration) -> Result<Bytes, ReadError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let read = async {
        let mut stream = std::pin::pin!(stream);
        let mut buf = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let mut chunk = chunk.map_err(|e| ReadError::Broken(e.to_string()))?;
            let size = buf.len() as u64 + chunk.remaining() as u64;
            if size > limit {
                let room = (limit as usize).saturating_sub(buf.len());
                let take = room.min(chunk.remaining());
                buf.extend_from_slice(&chunk.copy_to_bytes(take));
                return Err(ReadError::TooLarge(buf.freeze(), size));
            }
            while chunk.has_remaining() {
                let piece = chunk.chunk();
                let n = piece.len();
                buf.extend_from_slice(piece);
                chunk.advance(n);
            }
        }
        Ok(buf.freeze())
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(ReadError::Timeout),
    }
}
