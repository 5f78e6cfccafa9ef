//! What each step kind does, inside the step's transaction. A step returns its outcome (status,
//! templated input, output, where to go next) or aborts with a failure, which leaves the store
//! as it was before the step.
//!
//! The step kinds as they run; `workflow::steps` resolves them from YAML. `email` and `enrol`
//! hold the two larger kinds, `outcome` what every kind gives back.

pub mod email;
pub mod enrol;
pub mod outcome;

use self::email::{send_email, EmailCtx, MailSettings};
use self::outcome::{fail, outcome, Next, StepFailure, StepOutcome, StepResult};
use super::context::{enrolment_change, sequence_context, RunContext};
use super::position::path_json;
use super::template::{Context, Renderer};
use crate::domain::contact::{Actor, Contact, Email, Phone, Tag};
use crate::store::contacts::{
    add_tags, apply_update, find_contact, remove_tags, set_dnd, ChangeCtx, ContactError,
    ContactUpdate, FindInput, TxResult,
};
use crate::store::runs::{RunRecord, StepPath, StepStatus};
use crate::store::step_tx::{Abort, StepTx};
use crate::store::timers::{Timer, TimerKind};
use crate::workflow::{Arg, Sequence, Step, StepKind, Workflow};
use serde_json::{json, Map, Value};
use std::cell::OnceCell;
use std::sync::Arc;

/// Who a step runs for: a workflow run, or a contact's enrolment in a sequence.
pub enum Subject<'a> {
    /// A run of `workflow`, at `path`; `context` is kept from one of its steps to the next.
    Run {
        workflow: &'a Workflow,
        run: &'a RunRecord,
        path: &'a StepPath,
        context: &'a RunContext,
    },
    /// The enrolment of `contact_id` in `sequence`, at step `index`.
    Enrolment {
        sequence: &'a Sequence,
        contact_id: &'a str,
        index: usize,
    },
}

/// Everything a step reads besides the store.
pub struct StepEnv<'a> {
    pub renderer: &'a Renderer,
    pub subject: Subject<'a>,
    pub now_ms: i64,
    pub region: &'a str,
    /// The `--timezone` for `wait: {until}` when the contact has none.
    pub timezone: &'a str,
    /// The sequence a new enrolment starts on (its current version).
    pub current_sequence: &'a dyn Fn(&str) -> Result<Arc<Sequence>, String>,
    pub mail: &'a MailSettings,
}

/// Turns an abort with a message (enrolment code) into a step failure.
pub(crate) fn lift_msg<T>(r: Result<T, Abort<String>>, input: &Value) -> StepResult<T> {
    r.map_err(|e| e.map(|message| StepFailure::new(input, message)))
}

/// Turns a contact-store abort into a step failure, keeping conflicts and store errors.
pub(crate) fn lift<T>(r: TxResult<T>, input: &Value) -> StepResult<T> {
    r.map_err(|e| {
        Abort::from(e).map(|e| match e {
            ContactError::EmailTaken { email, contact_id } => StepFailure::new(
                input,
                format!("email {email} already belongs to contact {contact_id}"),
            ),
            other => StepFailure::new(input, other.to_string()),
        })
    })
}

/// Executes one step inside `tx`: the one place a step of a run, a dry run or a sequence is
/// carried out.
pub fn execute(env: &StepEnv, step: &Step, tx: &StepTx<'_>) -> StepResult<StepOutcome> {
    let contact_id = match &env.subject {
        Subject::Run { run, .. } => run.contact_id.as_deref(),
        Subject::Enrolment { contact_id, .. } => Some(*contact_id),
    };
    let contact = match contact_id {
        Some(id) => lift(tx.contacts.get(id), &Value::Null)?,
        None => None,
    };
    let (change, run_id, source) = match &env.subject {
        Subject::Run {
            workflow,
            run,
            path,
            ..
        } => {
            let change = ChangeCtx {
                now: env.now_ms,
                run_id: Some(run.id.clone()),
                step: Some(path_json(path).to_string()),
                actor: Actor::Run,
            };
            (change, Some(run.id.as_str()), workflow.id.as_str())
        }
        Subject::Enrolment {
            sequence, index, ..
        } => {
            if contact.is_none() {
                return fail(&Value::Null, "the enrolled contact no longer exists");
            }
            let change = enrolment_change(sequence.id.as_str(), *index, env.now_ms);
            (change, None, sequence.id.as_str())
        }
    };
    let make = || match &env.subject {
        Subject::Run {
            workflow,
            run,
            context,
            ..
        } => {
            let contact_json = contact
                .as_ref()
                .map(|c| serde_json::to_value(c).expect("contacts serialise"))
                .unwrap_or(Value::Null);
            context.for_step(workflow, &run.item, &run.request, contact_json, env.now_ms)
        }
        Subject::Enrolment { sequence, .. } => match &contact {
            Some(contact) => sequence_context(sequence, contact, env.now_ms),
            None => unreachable!("an enrolment's step without its contact failed above"),
        },
    };
    let ctx = StepContext::new(&make);
    let r = Render {
        renderer: env.renderer,
        ctx: &ctx,
    };
    match &step.kind {
        StepKind::FindContact(f) => {
            let input = json!({
                "email": r.opt(&f.email)?, "phone": r.opt(&f.phone)?,
                "first_name": r.opt(&f.first_name)?, "last_name": r.opt(&f.last_name)?,
                "create": f.create,
            });
            let mut warnings = Vec::new();
            let email = text(&input["email"]).and_then(|e| {
                Email::parse(&e)
                    .map_err(|why| warnings.push(format!("email ignored: {why}")))
                    .ok()
            });
            let phone = text(&input["phone"]).and_then(|p| {
                Phone::parse(&p, env.region)
                    .map_err(|why| warnings.push(format!("phone ignored: {why}")))
                    .ok()
            });
            if email.is_none() && phone.is_none() {
                let why = if warnings.is_empty() {
                    "email and phone are both empty".to_string()
                } else {
                    warnings.join("; ")
                };
                return fail(
                    &input,
                    format!("find_contact has no email or phone to look up: {why}"),
                );
            }
            let find = FindInput {
                email,
                phone,
                first_name: text(&input["first_name"]),
                last_name: text(&input["last_name"]),
                source: Some(source.to_string()),
            };
            let found = lift(find_contact(&tx.contacts, &find, f.create, &change), &input)?;
            warnings.extend(found.warnings.iter().cloned());
            let id = found.contact.as_ref().map(|c| c.id.clone());
            let output = json!({"contact_id": id, "created": found.created, "matched_by": found.matched_by, "warnings": warnings});
            let mut out = outcome(StepStatus::Succeeded, input, output);
            out.contact_id = Some(id);
            Ok(out)
        }
        StepKind::UpdateContact(u) => {
            let mut custom_in = Map::new();
            for (k, arg) in &u.custom {
                custom_in.insert(k.clone(), r.arg(arg)?);
            }
            let input = json!({
                "first_name": r.opt(&u.first_name)?, "last_name": r.opt(&u.last_name)?,
                "email": r.opt(&u.email)?, "phone": r.opt(&u.phone)?,
                "timezone": r.opt(&u.timezone)?, "source": r.opt(&u.source)?,
                "custom": custom_in,
            });
            let contact = need_contact(&contact, &input, "update_contact")?;
            let mut warnings = Vec::new();
            let email = match text(&input["email"]) {
                Some(e) => match Email::parse(&e) {
                    Ok(e) => Some(e),
                    Err(why) => {
                        return fail(
                            &input,
                            format!("update_contact: email {e:?} is not valid: {why}"),
                        )
                    }
                },
                None => None,
            };
            let phone = text(&input["phone"]).and_then(|p| {
                Phone::parse(&p, env.region)
                    .map_err(|why| warnings.push(format!("phone {p:?} not stored: {why}")))
                    .ok()
            });
            let update = ContactUpdate {
                first_name: text(&input["first_name"]),
                last_name: text(&input["last_name"]),
                email,
                phone,
                timezone: text(&input["timezone"]),
                source: text(&input["source"]),
                custom: custom_in.clone(),
            };
            let done = lift(
                apply_update(&tx.contacts, contact, &update, &change),
                &input,
            )?;
            let status = if done.changed {
                StepStatus::Succeeded
            } else {
                StepStatus::Noop
            };
            Ok(outcome(
                status,
                input,
                json!({"changes": done.changes, "warnings": warnings}),
            ))
        }
        StepKind::AddTag(_) | StepKind::RemoveTag(_) | StepKind::SetDnd(_) => {
            contact_step(&r, &step.kind, &contact, &change, tx)
        }
        StepKind::AddToSequence(id) => {
            let input = json!({"sequence": id.as_str()});
            let contact = need_contact(&contact, &input, "add_to_sequence")?;
            let seq = (env.current_sequence)(id.as_str()).or_else(|e| fail(&input, e))?;
            let (enrolled, output) = lift_msg(
                self::enrol::enrol(tx, contact, &seq, env.now_ms, env.timezone, &change),
                &input,
            )?;
            let status = if enrolled {
                StepStatus::Succeeded
            } else {
                StepStatus::Noop
            };
            Ok(outcome(status, input, output))
        }
        StepKind::RemoveFromSequence(id) => {
            let input = json!({"sequence": id.as_str()});
            let contact = need_contact(&contact, &input, "remove_from_sequence")?;
            let cancelled = lift_msg(
                self::enrol::unenrol(tx, contact, id.as_str(), env.now_ms, &change),
                &input,
            )?;
            let (status, output) = if cancelled {
                (StepStatus::Succeeded, json!({"state": "cancelled"}))
            } else {
                (StepStatus::Noop, json!({"state": "not_active"}))
            };
            Ok(outcome(status, input, output))
        }
        StepKind::Wait(w) => {
            // A sequence's waits are planned into its timers (see `enrol`), never run.
            let Some(run_id) = run_id else {
                return Ok(outcome(StepStatus::Succeeded, Value::Null, Value::Null));
            };
            let input = self::enrol::wait_json(w);
            let zone = contact.as_ref().and_then(|c| c.timezone.as_deref());
            let (due, note) = super::wait::due_at(w, env.now_ms, zone, env.timezone)
                .or_else(|e| fail(&input, e))?;
            let kind = TimerKind::RunWait {
                run_id: run_id.to_string(),
            };
            let timer = Timer::new(due, kind);
            tx.timers.schedule(&timer)?;
            let due_at = crate::domain::time::rfc3339(due);
            let output = json!({"due_at": due_at, "note": note, "timer_id": timer.id});
            let mut out = outcome(StepStatus::Waiting, input, output);
            out.next = Next::Wait;
            Ok(out)
        }
        StepKind::If(cond) => {
            let input = json!({"condition": cond.condition.source});
            let value = env
                .renderer
                .eval_condition(&cond.condition, ctx.get())
                .or_else(|e| fail(&input, e.message))?;
            let branch = if value { "then" } else { "else" };
            let mut out = outcome(
                StepStatus::Succeeded,
                input,
                json!({"result": value, "branch": branch}),
            );
            out.next = Next::Branch(branch);
            Ok(out)
        }
        StepKind::SendEmail(spec) => {
            let email = EmailCtx {
                renderer: env.renderer,
                ctx: ctx.get(),
                contact: contact.as_ref(),
                settings: env.mail,
                run_id,
                now_ms: env.now_ms,
            };
            let (status, input, output) = send_email(&email, spec, tx)?;
            Ok(outcome(status, input, output))
        }
    }
}

/// The steps that only change the contact (`add_tag`, `remove_tag`, `set_dnd`), shared by
/// workflows and sequences.
pub(crate) fn contact_step(
    r: &Render,
    kind: &StepKind,
    contact: &Option<Contact>,
    change: &ChangeCtx,
    tx: &StepTx<'_>,
) -> StepResult<StepOutcome> {
    match kind {
        StepKind::AddTag(args) | StepKind::RemoveTag(args) => {
            let adding = matches!(kind, StepKind::AddTag(_));
            let (input, tags) = r.tags(args)?;
            let contact = need_contact(contact, &input, kind.name())?;
            let (_, changed) = if adding {
                lift(add_tags(&tx.contacts, contact, &tags, change), &input)?
            } else {
                lift(remove_tags(&tx.contacts, contact, &tags, change), &input)?
            };
            let status = if changed.is_empty() {
                StepStatus::Noop
            } else {
                StepStatus::Succeeded
            };
            let names: Vec<&str> = changed.iter().map(|t| t.as_str()).collect();
            let key = if adding { "added" } else { "removed" };
            Ok(outcome(status, input, json!({ key: names })))
        }
        StepKind::SetDnd(on) => {
            let input = json!({"dnd": on});
            let contact = need_contact(contact, &input, "set_dnd")?;
            let (_, changed) = lift(set_dnd(&tx.contacts, contact, *on, change), &input)?;
            let status = if changed {
                StepStatus::Succeeded
            } else {
                StepStatus::Noop
            };
            Ok(outcome(status, input, json!({"dnd": on})))
        }
        other => fail(
            &Value::Null,
            format!("`{}` is not a contact step", other.name()),
        ),
    }
}

fn need_contact<'c>(
    contact: &'c Option<Contact>,
    input: &Value,
    step: &str,
) -> StepResult<&'c Contact> {
    match contact {
        Some(c) => Ok(c),
        None => fail(
            input,
            format!("{step} needs a contact, but the run has none: add a find_contact step before it (with create: true if the contact may be new)"),
        ),
    }
}

/// A rendered value as text: null and blank are `None`, numbers are written out.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        other => Some(other.to_string()),
    }
}

/// A step's template context, made at its first use: a step that renders no template
/// (`add_tag: Booked`, `remove_from_sequence`) does not copy the contact into one.
pub(crate) struct StepContext<'a> {
    made: OnceCell<Context>,
    make: &'a dyn Fn() -> Context,
}

impl<'a> StepContext<'a> {
    fn new(make: &'a dyn Fn() -> Context) -> Self {
        StepContext {
            made: OnceCell::new(),
            make,
        }
    }

    /// The context, made now if no template needed it yet.
    pub(crate) fn get(&self) -> &Context {
        self.made.get_or_init(self.make)
    }
}

/// Templating with the step's context; a template error fails the step.
pub(crate) struct Render<'a> {
    pub renderer: &'a Renderer,
    pub ctx: &'a StepContext<'a>,
}

impl Render<'_> {
    pub(crate) fn arg(&self, arg: &Arg) -> StepResult<Value> {
        self.renderer
            .render_arg_with(arg, || self.ctx.get())
            .or_else(|e| fail(&Value::Null, e.message))
    }

    fn opt(&self, arg: &Option<Arg>) -> StepResult<Value> {
        match arg {
            Some(a) => self.arg(a),
            None => Ok(Value::Null),
        }
    }

    /// Renders tag arguments (each a tag or a list of tags); blanks are dropped.
    fn tags(&self, args: &[Arg]) -> StepResult<(Value, Vec<Tag>)> {
        let mut names = Vec::new();
        for a in args {
            match self.arg(a)? {
                Value::Array(items) => names.extend(items.iter().filter_map(text)),
                v => names.extend(text(&v)),
            }
        }
        let input = json!({"tags": names});
        let mut tags = Vec::new();
        for n in &names {
            match Tag::parse(n) {
                Ok(t) => tags.push(t),
                Err(why) => return fail(&input, format!("tag {n:?} is not valid: {why}")),
            }
        }
        Ok((input, tags))
    }
}
