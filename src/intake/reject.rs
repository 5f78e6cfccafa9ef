//! Refused requests to a known hook go to the request log as `rejected`, with the reason, the
//! headers masked and the body (the store bounds how much: see `Store::log_rejected`). Best
//! effort and without a flush, so a flood of bad requests cannot slow the good ones.
//!
//! A request to a workflow that does not load (`503 workflow_unavailable`) is logged too, with
//! its body decoded, so that once the file is fixed it can be replayed instead of being lost.

use super::{
    header_str, InboundRequest, Intake, IntakeError, IntakeErrorKind, Target, Unavailable,
};
use crate::domain::time::rfc3339;
use crate::sender::auth::{self, AuthConfig};
use crate::sender::{body, encoding};
use crate::store::requests::{ItemStatus, RequestRecord};
use crate::workflow::trigger::DEFAULT_MAX_BODY;

impl Intake {
    /// Logs a refused request to a known hook (best effort, no flush) and returns the error.
    pub fn reject(&self, target: &Target, req: &InboundRequest, err: IntakeError) -> IntakeError {
        let msg = err.message.clone();
        self.reject_with(target, req, err.kind, &err.message, &msg)
    }

    /// Logs a request to a workflow that does not load and returns its 503. Its auth is unknown,
    /// so every header not known to be harmless is masked.
    pub fn unavailable(&self, hook: &Unavailable, req: &InboundRequest) -> IntakeError {
        let mut record = base_record(self, hook.id.as_str(), &AuthConfig::None, req);
        record.headers = auth::masked_headers_unknown_auth(&req.headers);
        if !req.truncated {
            // Decoded now, so that a replay after the fix parses it like any logged body.
            let coding = header_str(&req.headers, http::header::CONTENT_ENCODING);
            let decoded = encoding::codings(coding.as_deref())
                .and_then(|c| encoding::decode(&c, &req.body, DEFAULT_MAX_BODY));
            if let Ok(decoded) = decoded {
                record.body = String::from_utf8_lossy(&decoded).into_owned();
                record.body_size = decoded.len() as u64;
            }
        }
        self.log(record, &hook.error, &hook.error.message)
    }

    /// Logs a refusal whose public message (`public`) may differ from the logged `reason`.
    pub(super) fn reject_with(
        &self,
        target: &Target,
        req: &InboundRequest,
        kind: IntakeErrorKind,
        public: &str,
        reason: &str,
    ) -> IntakeError {
        let err = IntakeError::new(kind, public);
        let record = base_record(self, target.id.as_str(), &target.workflow.trigger.auth, req);
        self.log(record, &err, reason)
    }

    fn log(&self, mut record: RequestRecord, err: &IntakeError, reason: &str) -> IntakeError {
        record.status = ItemStatus::Rejected;
        record.http_status = err.status();
        record.reason = Some(reason.to_string());
        if let Err(e) = self.store.log_rejected(record.clone()) {
            tracing::warn!(workflow = %record.workflow, error = %e, "could not log rejected request");
        }
        self.events
            .publish(super::events::rejected(&record, err.code()));
        tracing::info!(
            request_id = %record.id,
            workflow = %record.workflow,
            status = "rejected",
            http_status = err.status(),
            "request rejected"
        );
        err.clone()
    }
}

/// A request's log record before its fate is known.
pub(super) fn base_record(
    intake: &Intake,
    workflow: &str,
    auth: &AuthConfig,
    req: &InboundRequest,
) -> RequestRecord {
    RequestRecord {
        id: crate::domain::ids::new_ulid(),
        workflow: workflow.to_string(),
        received_at: rfc3339(intake.clock.now_ms()),
        method: req.method.clone(),
        remote_addr: req.remote.map(|a| a.to_string()),
        headers: auth::masked_headers_for(&req.headers, auth),
        query: auth::masked_query(&req.query, auth),
        content_type: header_str(&req.headers, http::header::CONTENT_TYPE),
        body: String::from_utf8_lossy(&req.body).into_owned(),
        body_size: req.body_size,
        body_truncated: req.truncated,
        status: ItemStatus::Accepted,
        http_status: 200,
        reason: None,
        payload: serde_json::Value::Null,
        items: Vec::new(),
        replay_of: None,
        payload_is_body: false,
    }
}

/// The payload a replay of `original` runs: its parsed payload, or for a request that was
/// answered 503 (the workflow or the store was unavailable) its logged body, parsed now.
pub(super) fn replayable_payload(
    original: &RequestRecord,
) -> Result<serde_json::Value, IntakeError> {
    if !original.payload.is_null() {
        return Ok(original.payload.clone());
    }
    let refuse = |why: String| {
        IntakeError::new(
            IntakeErrorKind::BadRequest,
            format!("request {} cannot be replayed: {why}", original.id),
        )
    };
    if original.status != ItemStatus::Rejected || original.http_status != 503 {
        return Err(refuse(format!(
            "it has no payload (it was {} with {})",
            original.status.as_str(),
            original.http_status
        )));
    }
    if original.body_truncated {
        return Err(refuse("its logged body was cut at the log's limit".into()));
    }
    body::parse_payload(
        original.content_type.as_deref(),
        original.body.as_bytes(),
        &original.query,
    )
    .map_err(|e| refuse(format!("its body does not parse: {e}")))
}
