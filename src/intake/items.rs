//! Split a payload into items and decide each item's fate: captured (draft), filtered,
//! duplicate (decided in the store transaction) or queued for a run.

use super::{Intake, IntakeErrorKind, Target};
use crate::domain::ids::new_ulid;
use crate::engine::context::run_context;
use crate::engine::template::Context;
use crate::sender::body;
use crate::store::queue::QueueEntry;
use crate::store::requests::{ItemRecord, ItemStatus, PendingItem, RequestRecord};
use crate::workflow::{paths, Arg, Status, Workflow};
use serde_json::{json, Value};

/// `request` as templates see it: masked headers as an object, query as an object, time.
pub fn request_context(query: &str, record: &RequestRecord) -> Value {
    let headers: serde_json::Map<String, Value> = record
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "headers": headers,
        "query": body::query_object(query),
        "received_at": record.received_at,
        "method": record.method,
    })
}

/// Decides every item of the record's payload (`query`: the query string templates see);
/// `Err` is the refusal (a 400, or a 413 for more items than `limits.max_items`: nothing of
/// such a request runs).
pub fn prepare(
    intake: &Intake,
    target: &Target,
    query: &str,
    record: &RequestRecord,
    webhook_id: Option<&str>,
    now: i64,
) -> Result<Vec<PendingItem>, (IntakeErrorKind, String)> {
    let wf = &target.workflow;
    let bad = |msg: String| (IntakeErrorKind::BadRequest, msg);
    if wf.status == Status::Draft {
        // A draft captures every item whatever it holds (see `decide`): only their number
        // matters, so no item is copied and no context, mapping or filter is evaluated.
        let count = split_count(wf, &record.payload).map_err(bad)?;
        check_count(count, wf.trigger.limits.max_items)?;
        return Ok((0..count).map(captured).collect());
    }
    let items = split(wf, &record.payload).map_err(bad)?;
    check_count(items.len(), wf.trigger.limits.max_items)?;
    let request_ctx = &request_context(query, record);
    let many = items.len() > 1;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let mut rec = ItemRecord {
            index,
            status: ItemStatus::Accepted,
            run_id: None,
            dedupe_key: None,
            error: None,
        };
        let fate = decide(intake, wf, &item, request_ctx, now);
        if fate.status != ItemStatus::Accepted {
            rec.status = fate.status;
            // A draft keeps no filter error: its items are captured whatever the filter says.
            if fate.status == ItemStatus::Filtered {
                rec.error = fate.filter_error;
            }
            out.push(PendingItem {
                record: rec,
                queue: None,
                dedupe: None,
            });
            continue;
        }
        let key = match &wf.trigger.dedupe {
            Some(arg) => {
                let ctx = || fate.context(wf, &item, request_ctx, now);
                Some(dedupe_key(intake, arg, &item, ctx).map_err(bad)?)
            }
            None => webhook_id.map(|id| {
                if many {
                    format!("{id}:{index}")
                } else {
                    id.to_string()
                }
            }),
        };
        rec.dedupe_key = key.clone();
        let window = wf.trigger.dedupe_window.as_millis() as i64;
        let run_id = new_ulid();
        rec.run_id = Some(run_id.clone());
        let entry = QueueEntry {
            seq: intake
                .store
                .next_seq()
                .map_err(|e| (IntakeErrorKind::StoreUnavailable, e.to_string()))?,
            run_id,
            request_id: record.id.clone(),
            index,
            workflow: target.id.to_string(),
            version: wf.version.clone(),
            item,
            request: request_ctx.clone(),
            accepted_at: now,
        };
        out.push(PendingItem {
            record: rec,
            queue: Some(entry),
            dedupe: key.map(|k| (k, now + window)),
        });
    }
    Ok(out)
}

/// Refuses more items than the workflow takes per request (413).
fn check_count(count: usize, max: usize) -> Result<(), (IntakeErrorKind, String)> {
    if count <= max {
        return Ok(());
    }
    Err((
        IntakeErrorKind::PayloadTooLarge,
        format!(
            "the request holds {count} items; this workflow takes at most {max} per request \
             (limits.max_items): send them in smaller batches"
        ),
    ))
}

/// A draft's item: captured, no run.
fn captured(index: usize) -> PendingItem {
    PendingItem {
        record: ItemRecord {
            index,
            status: ItemStatus::Captured,
            run_id: None,
            dedupe_key: None,
            error: None,
        },
        queue: None,
        dedupe: None,
    }
}

/// What becomes of one item before dedupe: captured (draft), filtered or accepted.
pub struct Fate {
    /// `Captured`, `Filtered` or `Accepted`.
    pub status: ItemStatus,
    /// Why the filter failed to evaluate, if it did.
    pub filter_error: Option<String>,
    /// The item's template context, when the filter needed one (see [`Fate::context`]).
    pub ctx: Option<Context>,
}

impl Fate {
    /// The item's template context: the filter's, or made now. Most workflows have no filter
    /// and no templated dedupe key, and making one copies the item twice and the request.
    pub fn context(self, wf: &Workflow, item: &Value, request_ctx: &Value, now: i64) -> Context {
        self.ctx
            .unwrap_or_else(|| run_context(wf, item, request_ctx, Value::Null, now))
    }
}

/// Decides an item's fate; receive, replay and simulate all ask here.
pub fn decide(intake: &Intake, wf: &Workflow, item: &Value, request_ctx: &Value, now: i64) -> Fate {
    let ctx = wf
        .trigger
        .filter
        .as_ref()
        .map(|_| run_context(wf, item, request_ctx, Value::Null, now));
    let (pass, filter_error) = match &ctx {
        Some(ctx) => filter(intake, wf, ctx),
        None => (true, None),
    };
    let status = if wf.status == Status::Draft {
        ItemStatus::Captured
    } else if !pass {
        ItemStatus::Filtered
    } else {
        ItemStatus::Accepted
    };
    Fate {
        status,
        filter_error,
        ctx,
    }
}

/// The dedupe key of an item: a JSONPath (starting with `$`) or a template.
fn dedupe_key(
    intake: &Intake,
    arg: &Arg,
    item: &Value,
    ctx: impl FnOnce() -> Context,
) -> Result<String, String> {
    if let Arg::Template { source, .. } = arg {
        if source.trim_start().starts_with('$') {
            let found = paths::select(source.trim(), item)
                .map_err(|e| format!("dedupe path `{source}` failed: {e}"))?;
            return Ok(match found.as_slice() {
                [Value::String(s)] => s.clone(),
                [one] => one.to_string(),
                many => Value::Array(many.to_vec()).to_string(),
            });
        }
    }
    let value = intake
        .renderer
        .render_arg(arg, &ctx())
        .map_err(|e| format!("dedupe key could not be rendered: {}", e.message))?;
    Ok(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The items of a payload: the workflow's `split` path, or a top-level array's elements.
pub fn split(wf: &Workflow, payload: &Value) -> Result<Vec<Value>, String> {
    match &wf.trigger.split {
        Some(path) => paths::select(path, payload)
            .map_err(|e| format!("split `{path}` failed on this payload: {e}")),
        None => Ok(body::default_split(payload.clone())),
    }
}

/// How many items [`split`] finds, without copying them.
fn split_count(wf: &Workflow, payload: &Value) -> Result<usize, String> {
    match (&wf.trigger.split, payload) {
        (Some(_), _) => split(wf, payload).map(|items| items.len()),
        (None, Value::Array(items)) => Ok(items.len()),
        (None, _) => Ok(1),
    }
}

/// Whether an item passes the workflow's filter; a filter that errors does not pass, and the
/// error is returned for the request log.
pub fn filter(intake: &Intake, wf: &Workflow, ctx: &Context) -> (bool, Option<String>) {
    match &wf.trigger.filter {
        None => (true, None),
        Some(f) => match intake.renderer.eval_condition(f, ctx) {
            Ok(pass) => (pass, None),
            Err(e) => (false, Some(format!("filter error: {}", e.message))),
        },
    }
}
