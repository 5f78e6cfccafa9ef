//! The names templates and conditions see (DESIGN.md "Templates are minijinja, strict").

use crate::domain::contact::{Actor, Contact};
use crate::domain::time::rfc3339;
use crate::domain::time::Millis;
use crate::engine::template::Context;
use crate::store::contacts::ChangeCtx;
use crate::workflow::{paths, Sequence, Workflow};
use serde_json::{json, Map, Value};
use std::cell::RefCell;

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

/// One run's context from step to step: made at its first step, then only `contact` and `now`
/// are set again. Making it clones the item twice and the request and evaluates every mapping,
/// which at every step was a tenth of a booking's worker time; setting a name in place copies
/// nothing once the previous step's renders are gone (see [`Context::set`]).
#[derive(Debug, Default)]
pub struct RunContext {
    made: RefCell<Option<(Context, i64)>>,
}

impl RunContext {
    /// The context of the run's next step: the same names and values [`run_context`] gives.
    /// Every call must be for the same run (same workflow, item and request).
    pub fn for_step(
        &self,
        wf: &Workflow,
        item: &Value,
        request: &Value,
        contact: Value,
        now_ms: i64,
    ) -> Context {
        let mut made = self.made.borrow_mut();
        match &mut *made {
            Some((ctx, at)) => {
                if *at != now_ms {
                    ctx.set("now", Value::String(rfc3339(now_ms)));
                    *at = now_ms;
                }
                ctx.set("contact", contact);
                ctx.clone()
            }
            None => {
                let ctx = run_context(wf, item, request, contact, now_ms);
                *made = Some((ctx.clone(), now_ms));
                ctx
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::WorkflowId;
    use crate::engine::template::Renderer;
    use crate::workflow::{load_workflow_source, Arg, Pos};

    const BOOKING: &str = "name: Booking\nstatus: published\ntrigger:\n  inbound_webhook:\n    auth: {type: none}\nmapping:\n  email: $.email\n  first: $.firstName\nsteps:\n  - find_contact: {email: \"{{ email }}\", create: true}\n";

    fn booking() -> Workflow {
        let dir = tempfile::tempdir().unwrap();
        let id = WorkflowId::parse("booking").unwrap();
        let none = |_: &str| None;
        load_workflow_source(
            &id,
            "booking.yaml",
            BOOKING,
            &none,
            &Default::default(),
            dir.path(),
        )
        .unwrap()
    }

    fn render(ctx: &Context, source: &str) -> Value {
        let arg = Arg::Template {
            source: source.into(),
            pos: Pos::default(),
        };
        Renderer::new().render_arg(&arg, ctx).unwrap()
    }

    #[test]
    fn a_runs_context_at_every_step_is_the_one_made_afresh_for_that_step() {
        let wf = booking();
        // Parsed, so the number keeps the text it was sent with.
        let item: Value = serde_json::from_str(
            r#"{"email": "jane@example.com", "firstName": "Jane", "total": 12.50}"#,
        )
        .unwrap();
        let request = json!({"headers": {"x-id": "7"}, "query": {}, "method": "POST"});
        let kept = RunContext::default();
        let steps = [
            (Value::Null, 1_000),
            (json!({"id": "c1", "first_name": "Jane", "tags": []}), 1_000),
            (
                json!({"id": "c1", "first_name": "Janet", "tags": ["Booked"]}),
                1_000,
            ),
            (
                json!({"id": "c1", "first_name": "Janet", "tags": ["Booked"]}),
                61_000,
            ),
        ];
        for (contact, now) in steps {
            let step = kept.for_step(&wf, &item, &request, contact.clone(), now);
            let fresh = run_context(&wf, &item, &request, contact.clone(), now);
            assert_eq!(step, fresh);
            let names: Vec<_> = step.vars().keys().collect();
            let fresh_names: Vec<_> = fresh.vars().keys().collect();
            assert_eq!(names, fresh_names, "the names come in the same order");
            // What a template sees, not only what the map holds (the root is made again).
            assert_eq!(render(&step, "{{ contact }}"), contact);
            assert_eq!(render(&step, "{{ now }}"), json!(rfc3339(now)));
            assert_eq!(
                render(&step, "{{ first }} {{ trigger.total }}"),
                json!("Jane 12.50")
            );
        }
    }

    #[test]
    fn a_later_step_changes_no_context_an_earlier_step_rendered_with() {
        let wf = booking();
        let item = json!({"email": "jane@example.com", "firstName": "Jane"});
        let kept = RunContext::default();
        let first = kept.for_step(&wf, &item, &Value::Null, json!({"first_name": "Jane"}), 1);
        assert_eq!(render(&first, "{{ contact.first_name }}"), json!("Jane"));
        let second = kept.for_step(&wf, &item, &Value::Null, json!({"first_name": "Jo"}), 2);
        assert_eq!(render(&second, "{{ contact.first_name }}"), json!("Jo"));
        assert_eq!(render(&first, "{{ contact.first_name }}"), json!("Jane"));
        assert_eq!(render(&first, "{{ now }}"), json!(rfc3339(1)));
    }
}
