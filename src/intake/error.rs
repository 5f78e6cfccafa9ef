//! Why an inbound request was not accepted: each kind has its HTTP status and `error.code`
//! here, so the HTTP layer only writes them out.

use std::time::Duration;

/// The kinds of refusal of DESIGN.md's inbound error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeErrorKind {
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited {
        retry_after: Duration,
    },
    StoreUnavailable,
    /// The workflow's file has an error: nothing can be checked or run until it is fixed.
    WorkflowUnavailable,
}

/// A refusal with the message the sender sees.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct IntakeError {
    pub kind: IntakeErrorKind,
    pub message: String,
}

impl IntakeError {
    /// A refusal of the given kind.
    pub fn new(kind: IntakeErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self.kind {
            IntakeErrorKind::BadRequest => 400,
            IntakeErrorKind::Unauthorized => 401,
            IntakeErrorKind::NotFound => 404,
            IntakeErrorKind::MethodNotAllowed => 405,
            IntakeErrorKind::PayloadTooLarge => 413,
            IntakeErrorKind::UnsupportedMediaType => 415,
            IntakeErrorKind::RateLimited { .. } => 429,
            IntakeErrorKind::StoreUnavailable | IntakeErrorKind::WorkflowUnavailable => 503,
        }
    }

    /// The `error.code` of the JSON answer.
    pub fn code(&self) -> &'static str {
        match self.kind {
            IntakeErrorKind::BadRequest => "bad_request",
            IntakeErrorKind::Unauthorized => "unauthorized",
            IntakeErrorKind::NotFound => "not_found",
            IntakeErrorKind::MethodNotAllowed => "method_not_allowed",
            IntakeErrorKind::PayloadTooLarge => "payload_too_large",
            IntakeErrorKind::UnsupportedMediaType => "unsupported_media_type",
            IntakeErrorKind::RateLimited { .. } => "rate_limited",
            IntakeErrorKind::StoreUnavailable => "store_unavailable",
            IntakeErrorKind::WorkflowUnavailable => "workflow_unavailable",
        }
    }
}
