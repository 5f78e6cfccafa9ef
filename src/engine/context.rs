//! The names templates and conditions see (DESIGN.md "Templates are minijinja, strict").

use crate::domain::time::rfc3339;
use crate::engine::template::Context;
use crate::workflow::{paths, Workflow};
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
    Context { vars }
}
