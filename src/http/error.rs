//! The one place where errors become HTTP answers: `{"error": {"code", "message"}}`.

use crate::intake::{IntakeError, IntakeErrorKind};
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

/// An admin API error.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    /// 503 `store_unavailable`, logging the cause (never shown to the caller).
    pub fn store(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "store error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the store could not be read or written; see the server log",
        )
    }
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, self.code, &self.message)
    }
}

impl From<crate::views::ViewError> for ApiError {
    fn from(e: crate::views::ViewError) -> Self {
        use crate::views::ViewError;
        match e {
            ViewError::BadRequest(m) => Self::bad_request(m),
            ViewError::NotFound(m) => Self::not_found(m),
            ViewError::Store(e) => Self::store(e),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, e.code(), e.message)
    }
}

/// The JSON error body with a status.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}});
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

/// An intake refusal as an HTTP answer (adds `Retry-After` to 429s).
pub fn intake_response(e: IntakeError) -> Response {
    let retry = match e.kind {
        IntakeErrorKind::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
        _ => None,
    };
    let mut resp = ApiError::from(e).into_response();
    if let Some(secs) = retry {
        resp.headers_mut().insert(
            http::header::RETRY_AFTER,
            secs.to_string().parse().expect("digits"),
        );
    }
    resp
}

/// Turns warp's own rejections (unknown path, wrong method, bad JSON body) into our shape.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, std::convert::Infallible> {
    if let Some(e) = rejection.find::<Unauthorized>() {
        let mut resp = error_response(StatusCode::UNAUTHORIZED, "unauthorized", e.0);
        // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
        resp.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
        return Ok(resp);
    }
    let (status, code, message) = if rejection.is_not_found() {
        (
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route".to_string(),
        )
    } else if let Some(e) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        (
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid JSON body: {e}"),
        )
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        (
            StatusCode::BAD_REQUEST,
            "bad_request",
            "invalid query string".to_string(),
        )
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "body too large".to_string(),
        )
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json".to_string(),
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route".to_string(),
        )
    } else {
        tracing::warn!(?rejection, "unhandled rejection");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error".to_string(),
        )
    };
    Ok(error_response(status, code, &message))
}

/// Rejection for a missing or wrong admin token.
#[derive(Debug)]
pub struct Unauthorized(pub &'static str);
impl warp::reject::Reject for Unauthorized {}
