//! Intake: what happens between a request arriving at `/hooks/{id}` and its answer.
//!
//! Resolve the hook to a workflow and apply its rate limit, then (after the HTTP layer has read
//! the body within the workflow's size limit) authenticate, parse, split, filter and dedupe,
//! write the request and its queue entries in one transaction and wait for the group flush.
//! Only then is the request acknowledged. Refused requests to a known hook are logged without a
//! flush.

pub mod error;
mod events;
pub mod items;
mod limits;

pub use error::{IntakeError, IntakeErrorKind};

use crate::domain::ids::{new_ulid, WorkflowId};
use crate::domain::time::{rfc3339, wall_now_ms};
use crate::engine::template::Renderer;
use crate::inbound::{auth, body};
use crate::store::clock::Clock;
use crate::store::requests::{ItemStatus, RequestRecord};
use crate::store::Store;
use crate::workflow::live::LiveCatalog;
use crate::workflow::Workflow;
use bytes::Bytes;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Notify;

/// A request as it arrived, body included (already limited by the HTTP layer).
pub struct InboundRequest {
    pub method: String,
    pub headers: http::HeaderMap,
    pub query: String,
    pub body: Bytes,
    /// True when the body was cut at the limit (only for rejected requests).
    pub truncated: bool,
    pub body_size: u64,
    pub remote: Option<SocketAddr>,
}

/// The workflow a hook id resolved to.
pub struct Target {
    pub id: WorkflowId,
    pub workflow: Arc<Workflow>,
}

impl Target {
    /// The workflow's body size limit in bytes.
    pub fn max_body(&self) -> u64 {
        self.workflow.trigger.limits.max_body
    }
}

/// The 200 answer of DESIGN.md.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub status: ItemStatus,
    pub request_id: String,
    pub workflow: String,
    pub items: Vec<AnswerItem>,
}

/// One item of the answer.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerItem {
    pub index: usize,
    pub status: ItemStatus,
    pub run_id: Option<String>,
}

/// The intake service, shared by all request handlers.
pub struct Intake {
    pub store: Store,
    pub catalog: Arc<LiveCatalog>,
    pub clock: Clock,
    pub renderer: Arc<Renderer>,
    limiters: limits::Limiters,
    /// Woken after every acceptance so the worker starts without polling.
    pub queued: Arc<Notify>,
    /// Where stored and refused requests are announced.
    pub events: Arc<crate::events::EventBus>,
}

impl Intake {
    /// A new intake over the given store and catalog.
    pub fn new(
        store: Store,
        catalog: Arc<LiveCatalog>,
        clock: Clock,
        renderer: Arc<Renderer>,
        queued: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            catalog,
            clock,
            renderer,
            limiters: limits::Limiters::default(),
            queued,
            events: Arc::default(),
        }
    }

    /// The same intake, announcing on `events`.
    pub fn with_events(mut self, events: Arc<crate::events::EventBus>) -> Self {
        self.events = events;
        self
    }

    /// Finds the workflow of a hook id.
    pub fn resolve(&self, hook: &str) -> Result<Target, IntakeError> {
        let not_found = || IntakeError::new(IntakeErrorKind::NotFound, "no such hook");
        let id = self
            .store
            .workflow_for_hook(hook)
            .map_err(|_| store_unavailable())?
            .ok_or_else(not_found)?;
        let catalog = self.catalog.current();
        let entry = catalog.workflows.get(&id).ok_or_else(not_found)?;
        let workflow = entry.workflow.as_ref().map_err(|d| {
            IntakeError::new(
                IntakeErrorKind::WorkflowUnavailable,
                format!(
                    "workflow `{id}` cannot receive requests until its file is fixed ({}:{}:{})",
                    d.file, d.line, d.column
                ),
            )
        })?;
        Ok(Target {
            id,
            workflow: workflow.clone(),
        })
    }

    /// Applies the workflow's rate limit (wall clock); a refusal is logged like any other.
    pub fn admit(&self, target: &Target, req: &InboundRequest) -> Result<(), IntakeError> {
        self.limiters
            .check(&target.id, &target.workflow)
            .map_err(|e| self.reject(target, req, e))
    }

    /// Authenticates, parses and stores a request, and answers once it is durable.
    pub async fn receive(
        &self,
        target: &Target,
        req: InboundRequest,
    ) -> Result<Answer, IntakeError> {
        let wf = &target.workflow;
        let wall = wall_now_ms();
        let verified = auth::verify(
            &wf.trigger.auth,
            &req.headers,
            &req.query,
            &req.body,
            wall / 1000,
        )
        .map_err(|f| {
            self.reject_with(
                target,
                &req,
                IntakeErrorKind::Unauthorized,
                "unauthorized",
                &f.reason,
            )
        })?;
        let content_type = header_str(&req.headers, http::header::CONTENT_TYPE);
        let payload =
            body::parse_payload(content_type.as_deref(), &req.body, &req.query).map_err(|e| {
                let kind = match e {
                    body::PayloadError::BadRequest(_) => IntakeErrorKind::BadRequest,
                    body::PayloadError::UnsupportedMediaType(_) => {
                        IntakeErrorKind::UnsupportedMediaType
                    }
                };
                let msg = e.to_string();
                self.reject_with(target, &req, kind, &msg, &msg)
            })?;

        let mut record = self.base_record(target, &req, &new_ulid());
        record.payload = payload;
        let request_ctx = items::request_context(&req.query, &record);
        self.commit(
            target,
            record,
            request_ctx,
            verified.webhook_id.as_deref(),
            true,
        )
        .await
        .map_err(|(kind, msg)| self.reject_with(target, &req, kind, &msg, &msg))
    }

    /// Splits, filters and dedupes the record's payload, stores it with its queue entries and
    /// waits until that is durable. `Err` is a refusal to log (a split that fails) or a store
    /// failure (already an answer).
    async fn commit(
        &self,
        target: &Target,
        mut record: RequestRecord,
        request_ctx: serde_json::Value,
        webhook_id: Option<&str>,
        dedupe: bool,
    ) -> Result<Answer, (IntakeErrorKind, String)> {
        let now = self.clock.now_ms();
        let payload = record.payload.clone();
        let mut pending = items::prepare(
            self,
            target,
            &payload,
            &request_ctx,
            &record,
            webhook_id,
            now,
        )
        .map_err(|msg| (IntakeErrorKind::BadRequest, msg))?;
        if !dedupe {
            for item in &mut pending {
                item.dedupe = None;
            }
        }
        record.status = if pending.is_empty() {
            ItemStatus::Filtered
        } else {
            ItemStatus::Accepted
        };
        let unavailable = |e: &dyn std::fmt::Display, what: &str| {
            tracing::error!(workflow = %target.id, error = %e, "{what}");
            (
                IntakeErrorKind::StoreUnavailable,
                store_unavailable().message,
            )
        };
        // A sled write takes microseconds (the flush is what waits, and it is shared): running
        // it inline costs less than a hop to the blocking pool.
        let method = record.method.clone();
        let stored = self
            .store
            .accept(record, pending, now, true)
            .map_err(|e| unavailable(&e, "could not store request"))?;
        // A sender is better served by a 503 it retries than by a request that never ends.
        match tokio::time::timeout(FLUSH_DEADLINE, self.store.durable()).await {
            Ok(result) => result.map_err(|e| unavailable(&e, "flush failed"))?,
            Err(_) => {
                return Err(unavailable(
                    &"no flush within the deadline",
                    "flush timed out",
                ))
            }
        }
        if stored.status == ItemStatus::Accepted {
            self.queued.notify_one();
        }
        tracing::info!(
            request_id = %stored.id,
            workflow = %target.id,
            status = stored.status.as_str(),
            items = stored.items.len(),
            "request stored"
        );
        let answer = Answer {
            status: stored.status,
            request_id: stored.id.clone(),
            workflow: target.id.to_string(),
            items: stored
                .items
                .iter()
                .map(|i| AnswerItem {
                    index: i.index,
                    status: i.status,
                    run_id: i.run_id.clone(),
                })
                .collect(),
        };
        self.events.publish_all(events::stored(&method, &answer));
        Ok(answer)
    }

    /// Runs a logged request again as a new request (`replay_of` points at the original). Auth
    /// was checked when it first arrived and dedupe is skipped: a tester asked for it.
    pub async fn replay(&self, original: &RequestRecord) -> Result<Answer, IntakeError> {
        if original.payload.is_null() {
            return Err(IntakeError::new(
                IntakeErrorKind::BadRequest,
                format!(
                    "request {} has no payload to replay (it was {})",
                    original.id,
                    original.status.as_str()
                ),
            ));
        }
        let catalog = self.catalog.current();
        let workflow = catalog
            .workflows
            .iter()
            .find(|(id, _)| id.as_str() == original.workflow)
            .and_then(|(_, e)| e.workflow.as_ref().ok())
            .ok_or_else(|| {
                IntakeError::new(
                    IntakeErrorKind::WorkflowUnavailable,
                    format!("workflow `{}` is not loaded", original.workflow),
                )
            })?;
        let target = Target {
            id: workflow.id.clone(),
            workflow: workflow.clone(),
        };
        let mut record = original.clone();
        record.id = new_ulid();
        record.received_at = rfc3339(self.clock.now_ms());
        record.replay_of = Some(original.id.clone());
        record.items = Vec::new();
        let request_ctx = items::request_context(&original.query, &record);
        self.commit(&target, record, request_ctx, None, false)
            .await
            .map_err(|(kind, msg)| IntakeError::new(kind, msg))
    }

    /// Logs a refused request to a known hook (best effort, no flush) and returns the error.
    pub fn reject(&self, target: &Target, req: &InboundRequest, err: IntakeError) -> IntakeError {
        let msg = err.message.clone();
        self.reject_with(target, req, err.kind, &err.message, &msg)
    }

    fn reject_with(
        &self,
        target: &Target,
        req: &InboundRequest,
        kind: IntakeErrorKind,
        public: &str,
        reason: &str,
    ) -> IntakeError {
        let err = IntakeError::new(kind, public);
        let mut record = self.base_record(target, req, &new_ulid());
        record.status = ItemStatus::Rejected;
        record.http_status = err.status();
        record.reason = Some(reason.to_string());
        if let Err(e) = self.store.log_rejected(&record) {
            tracing::warn!(workflow = %target.id, error = %e, "could not log rejected request");
        }
        self.events.publish(events::rejected(&record, err.code()));
        tracing::info!(
            request_id = %record.id,
            workflow = %target.id,
            status = "rejected",
            http_status = err.status(),
            "request rejected"
        );
        err
    }

    fn base_record(&self, target: &Target, req: &InboundRequest, id: &str) -> RequestRecord {
        RequestRecord {
            id: id.to_string(),
            workflow: target.id.to_string(),
            received_at: rfc3339(self.clock.now_ms()),
            method: req.method.clone(),
            remote_addr: req.remote.map(|a| a.to_string()),
            headers: auth::masked_headers_for(&req.headers, &target.workflow.trigger.auth),
            query: auth::masked_query(&req.query, &target.workflow.trigger.auth),
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
        }
    }
}

/// How long an answer may wait for the shared flush before it is a 503.
const FLUSH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

fn store_unavailable() -> IntakeError {
    IntakeError::new(
        IntakeErrorKind::StoreUnavailable,
        "the request could not be stored; retry later",
    )
}

fn header_str(headers: &http::HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
