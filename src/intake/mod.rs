//! Intake: what happens between a request arriving at `/hooks/{id}` and its answer.
//!
//! Resolve the hook to a workflow and check the request's Content-Type and Content-Encoding;
//! then (after the HTTP layer has read the body within the workflow's size limit) authenticate
//! over the raw body, apply the rate limit (so a failed auth never spends it), decode and parse,
//! split, filter and dedupe, write the request and its queue entries in one transaction and wait
//! for the group flush. Only then is the request acknowledged. Refused requests to a known hook,
//! a broken workflow's included, are logged without a flush (see [`reject`]).

pub mod error;
mod events;
pub mod items;
mod limits;
pub mod reject;
mod simulate;

pub use simulate::SIMULATE_MAX_BODY;

pub use error::{IntakeError, IntakeErrorKind};

use crate::domain::ids::{new_ulid, WorkflowId};
use crate::domain::time::{rfc3339, wall_now_ms};
use crate::engine::template::Renderer;
use crate::sender::{auth, body, encoding};
use crate::store::clock::Clock;
use crate::store::requests::{ItemStatus, RequestRecord};
use crate::store::Store;
use crate::workflow::live::LiveCatalog;
use crate::workflow::Workflow;
use bytes::Bytes;
use serde::Serialize;
use std::borrow::Cow;
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

/// A known hook whose workflow cannot run (its file is broken or a secret is unset): its
/// requests are answered 503 but logged, so they can be replayed once it loads.
pub struct Unavailable {
    /// The workflow the hook belongs to.
    pub id: WorkflowId,
    /// The 503 answer.
    pub error: IntakeError,
}

/// What a hook id resolved to.
pub enum Hook {
    /// A loaded workflow.
    Ready(Target),
    /// A known workflow that does not load.
    Unavailable(Unavailable),
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
    store: Store,
    catalog: Arc<LiveCatalog>,
    clock: Clock,
    renderer: Arc<Renderer>,
    limiters: limits::Limiters,
    /// Woken after every acceptance so the worker starts without polling.
    queued: Arc<Notify>,
    /// Where stored and refused requests are announced.
    events: Arc<crate::events::EventBus>,
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

    /// The store requests are written to (the admin views read it too).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The workflows as loaded now.
    pub fn catalog(&self) -> Arc<crate::workflow::Catalog> {
        self.catalog.current()
    }

    /// The current time of hookflow's clock, in milliseconds.
    pub fn now_ms(&self) -> crate::domain::time::Millis {
        self.clock.now_ms()
    }

    /// Waits, with a deadline, until everything written so far is on disk: every handler that
    /// wrote something calls this before it answers, so no async task blocks on a flush.
    pub async fn flush(&self) -> Result<(), crate::store::StoreError> {
        match tokio::time::timeout(FLUSH_DEADLINE, self.store.durable()).await {
            Ok(result) => result,
            Err(_) => Err(crate::store::StoreError::FlushTimeout),
        }
    }

    /// Finds the workflow of a hook id; 404 for an unknown one.
    pub fn resolve(&self, hook: &str) -> Result<Hook, IntakeError> {
        let not_found = || IntakeError::new(IntakeErrorKind::NotFound, "no such hook");
        let id = self
            .store
            .workflow_for_hook(hook)
            .map_err(|_| store_unavailable())?
            .ok_or_else(not_found)?;
        let catalog = self.catalog.current();
        let entry = catalog.workflows.get(&id).ok_or_else(not_found)?;
        Ok(match &entry.workflow {
            Ok(workflow) => Hook::Ready(Target {
                id,
                workflow: workflow.clone(),
            }),
            Err(d) => {
                let error = IntakeError::new(
                    IntakeErrorKind::WorkflowUnavailable,
                    format!(
                        "workflow `{id}` cannot receive requests until its file is fixed \
                         ({}:{}:{})",
                        d.file, d.line, d.column
                    ),
                );
                Hook::Unavailable(Unavailable { id, error })
            }
        })
    }

    /// Refuses, before the body is read, a Content-Type that does not parse or is not UTF-8
    /// and a Content-Encoding hookflow does not decode (415, logged).
    pub fn check_headers(&self, target: &Target, req: &InboundRequest) -> Result<(), IntakeError> {
        let content_type = header_str(&req.headers, http::header::CONTENT_TYPE);
        let encoding = header_str(&req.headers, http::header::CONTENT_ENCODING);
        body::check_content_type(content_type.as_deref())
            .map_err(body_error)
            .and_then(|()| {
                encoding::codings(encoding.as_deref())
                    .map(drop)
                    .map_err(|e| body_error(e.into()))
            })
            .map_err(|e| self.reject(target, req, e))
    }

    /// Authenticates, parses and stores a request, and answers once it is durable.
    pub async fn receive(
        &self,
        target: &Target,
        mut req: InboundRequest,
    ) -> Result<Answer, IntakeError> {
        let wf = &target.workflow;
        let wall = wall_now_ms();
        if wf.trigger.auth.signs_body() && req.method == "GET" {
            // A GET's payload is its query string, which no signature covers.
            let reason = "GET: a signed workflow takes its payload only from a signed body";
            return Err(self.reject_with(
                target,
                &req,
                IntakeErrorKind::Unauthorized,
                "unauthorized",
                reason,
            ));
        }
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
        // After auth: a sender who cannot authenticate must not spend the workflow's rate.
        self.limiters
            .check(&target.id, wf)
            .map_err(|e| self.reject(target, &req, e))?;
        let content_type = header_str(&req.headers, http::header::CONTENT_TYPE);
        let encoding = header_str(&req.headers, http::header::CONTENT_ENCODING);
        let parsed = body::decode_and_parse(
            content_type.as_deref(),
            encoding.as_deref(),
            &req.body,
            &req.query,
            target.max_body(),
        );
        let (decoded, payload, payload_is_body) = match parsed {
            Ok(d) => (
                match d.body {
                    Cow::Owned(decoded) => Some(Bytes::from(decoded)),
                    Cow::Borrowed(_) => None,
                },
                d.payload,
                d.payload_is_body,
            ),
            Err(e) => return Err(self.reject(target, &req, body_error(e))),
        };
        // The log keeps the decoded body: that is what a tester reads and what a replay parses.
        if let Some(decoded) = decoded {
            req.body_size = decoded.len() as u64;
            req.body = decoded;
        }

        let mut record = reject::base_record(self, target.id.as_str(), &wf.trigger.auth, &req);
        record.payload = payload;
        record.payload_is_body = payload_is_body;
        self.commit(
            target,
            record,
            &req.query,
            verified.webhook_id.as_deref(),
            true,
        )
        .await
        .map_err(|(kind, msg)| self.reject_with(target, &req, kind, &msg, &msg))
    }

    /// Splits, filters and dedupes the record's payload, stores it with its queue entries and
    /// waits until that is durable (`query`: the query string templates see). `Err` is a
    /// refusal to log (a split that fails) or a store failure (already an answer).
    async fn commit(
        &self,
        target: &Target,
        mut record: RequestRecord,
        query: &str,
        webhook_id: Option<&str>,
        dedupe: bool,
    ) -> Result<Answer, (IntakeErrorKind, String)> {
        let now = self.clock.now_ms();
        let mut pending = items::prepare(self, target, query, &record, webhook_id, now)?;
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
        // The committer writes this request with every other one in flight and flushes once;
        // the request is announced as soon as it is written (its runs may start before the
        // flush ends, and their events must follow). A sender is better served by a 503 it
        // retries than by a request that never ends.
        let events = self.events.clone();
        let workflow = target.id.to_string();
        let method = record.method.clone();
        let on_written = Box::new(move |stored: &RequestRecord| {
            events.publish_all(events::stored(&method, &answer_of(&workflow, stored)));
        });
        let stored = tokio::time::timeout(
            FLUSH_DEADLINE,
            self.store.accept(record, pending, now, Some(on_written)),
        )
        .await
        .map_err(|_| crate::store::StoreError::FlushTimeout)
        .and_then(|r| r)
        .map_err(|e| unavailable(&e, "could not store request"))?;
        let answer = answer_of(target.id.as_str(), &stored);
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
        Ok(answer)
    }

    /// Runs a logged request again as a new request (`replay_of` points at the original). Auth
    /// was checked when it first arrived and dedupe is skipped: a tester asked for it.
    pub async fn replay(&self, original: &RequestRecord) -> Result<Answer, IntakeError> {
        let payload = reject::replayable_payload(original)?;
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
        record.payload = payload;
        record.status = ItemStatus::Accepted;
        record.http_status = 200;
        record.reason = None;
        self.commit(&target, record, &original.query, None, false)
            .await
            .map_err(|(kind, msg)| IntakeError::new(kind, msg))
    }
}

/// The sender's answer for a stored request.
fn answer_of(workflow: &str, stored: &RequestRecord) -> Answer {
    Answer {
        status: stored.status,
        request_id: stored.id.clone(),
        workflow: workflow.to_string(),
        items: stored
            .items
            .iter()
            .map(|i| AnswerItem {
                index: i.index,
                status: i.status,
                run_id: i.run_id.clone(),
            })
            .collect(),
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

/// A body error as the refusal the sender gets.
fn body_error(e: body::PayloadError) -> IntakeError {
    let kind = match e {
        body::PayloadError::BadRequest(_) => IntakeErrorKind::BadRequest,
        body::PayloadError::UnsupportedMediaType(_) => IntakeErrorKind::UnsupportedMediaType,
        body::PayloadError::TooLarge(_) => IntakeErrorKind::PayloadTooLarge,
    };
    IntakeError::new(kind, e.to_string())
}

fn header_str(headers: &http::HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
