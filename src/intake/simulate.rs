//! A dry run of a payload: the same split, filter and draft decision as [`Intake::receive`],
//! then each accepted item through the executor's simulation. Writes and sends nothing.

use super::{items, Intake, IntakeError, IntakeErrorKind};
use crate::domain::time::rfc3339;
use crate::engine::executor::Executor;
use crate::sender::body;
use crate::store::requests::ItemStatus;
use crate::workflow::paths;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The largest payload a simulation takes.
pub const SIMULATE_MAX_BODY: u64 = 1024 * 1024;

impl Intake {
    /// Simulates workflow `id` on a payload of the given Content-Type (JSON when absent) and
    /// answers the document of `POST /api/workflows/{id}/simulate`.
    pub async fn simulate(
        self: &Arc<Self>,
        executor: Arc<Executor>,
        id: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Value, IntakeError> {
        let bad = |m: String| IntakeError::new(IntakeErrorKind::BadRequest, m);
        let catalog = self.catalog.current();
        let entry = catalog
            .workflows
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, e)| e)
            .ok_or_else(|| {
                IntakeError::new(IntakeErrorKind::NotFound, format!("no workflow `{id}`"))
            })?;
        let wf = entry
            .workflow
            .as_ref()
            .map_err(|d| {
                bad(format!(
                    "workflow `{id}` has an error at {}:{}:{}: {}",
                    d.file, d.line, d.column, d.message
                ))
            })?
            .clone();
        let payload = body::parse_payload(content_type.or(Some("application/json")), body, "")
            .map_err(|e| bad(e.to_string()))?;
        let now = self.clock.now_ms();
        let request =
            json!({"headers": {}, "query": {}, "received_at": rfc3339(now), "method": "POST"});
        let this = Arc::clone(self);
        let wf2 = wf.clone();
        let out = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, String> {
            let mut out = Vec::new();
            for (index, item) in items::split(&wf2, &payload)?.into_iter().enumerate() {
                let mapping: Map<String, Value> = wf2
                    .mapping
                    .iter()
                    .map(|m| (m.name.clone(), paths::evaluate(m, &item)))
                    .collect();
                let fate = items::decide(&this, &wf2, &item, &request, now);
                let run = match fate.status {
                    ItemStatus::Accepted => {
                        let trace = executor.simulate(&wf2, &item, &request)?;
                        serde_json::to_value(trace).unwrap_or_default()
                    }
                    _ => Value::Null,
                };
                out.push(json!({"index": index, "status": fate.status.as_str(), "mapping": mapping, "filter_error": fate.filter_error, "run": run}));
            }
            Ok(out)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "simulation failed");
            IntakeError::new(IntakeErrorKind::StoreUnavailable, "the simulation did not finish; see the server log")
        })?
        .map_err(bad)?;
        Ok(json!({"workflow": wf.id.as_str(), "dry_run": true, "items": out}))
    }
}
