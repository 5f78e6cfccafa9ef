//! The names templates and conditions see (DESIGN.md "Templates are minijinja, strict").

use crate::domain::contact::{Actor, Contact};
use crate::domain::time::rfc3339;
use crate::domain::time::Millis;
use crate::engine::template::Context;
use crate::store::contacts::ChangeCtx;
use crate::workflow::{paths, Sequence, Workflow};
use serde_json::{json, Map, Value};

/// The context of one item: `trigger` (= `inboundWebhookRequest`), `request`, `workflow`,
/// `now`, `contact` and each mapping name.
pub fn run_context(
    wf: &Workflow,
    item: &Value,
    request: &Value,
    contact: Value,
    now_ms: i64,
) -> Context {
    let mut vars = Map::new();
    for entry in &wf.mapping {
        vars.insert(entry.name.clone(), paths::evaluate(entry, item));
    }
    vars.insert("trigger".into(), item.clone());
    vars.insert("inboundWebhookRequest".into(), item.clone());
    vars.insert("request".into(), request.clone());
    vars.insert(
        "workflow".into(),
        json!({"id": wf.id.as_str(), "name": wf.name}),
    );
    vars.insert("now".into(), Value::String(rfc3339(now_ms)));
    vars.insert("contact".into(), contact);
    Context::from(vars)
}

/// The sequence's template names: `contact`, `sequence`, `workflow` (the sequence too), `now`.
pub fn sequence_context(seq: &Sequence, contact: &Contact, now: Millis) -> Context {
    let mut vars = Map::new();
    let me = json!({"id": seq.id.as_str(), "name": seq.name});
    vars.insert(
        "contact".into(),
        serde_json::to_value(contact).expect("contacts serialise"),
    );
    vars.insert("sequence".into(), me.clone());
    vars.insert("workflow".into(), me);
    vars.insert("now".into(), Value::String(rfc3339(now)));
    Context::from(vars)
}

/// Who changed the contact: step `index` of `sequence`.
pub fn enrolment_change(sequence: &str, index: usize, now: Millis) -> ChangeCtx {
    ChangeCtx {
        now,
        run_id: None,
        step: Some(format!("{sequence}[{index}]")),
        actor: Actor::Run,
    }
}
