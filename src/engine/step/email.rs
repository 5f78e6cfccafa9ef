//! `send_email`: renders the message and queues it in the outbox inside the step's transaction.
//! Delivery happens after the commit (the mailer reads the outbox), so a crash neither loses the
//! email nor sends it twice; the fixed Message-ID is the outbox row's id.

use super::outcome::{StepFailure, StepResult};
use crate::domain::contact::Contact;
use crate::domain::ids::new_ulid;
use crate::engine::template::{Context, Renderer};
use crate::mail::message::new_token;
use crate::store::outbox::{OutboxError, OutboxRecord, OutboxState};
use crate::store::runs::StepStatus;
use crate::store::step_tx::{Abort, StepTx};
use crate::workflow::{Arg, SendEmail};
use serde_json::{json, Value};

impl From<OutboxError> for StepFailure {
    fn from(e: OutboxError) -> Self {
        StepFailure::new(&Value::Null, e.to_string())
    }
}

/// What the engine knows about mail: the sender and the base of unsubscribe links.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: String,
    pub public_url: String,
}

/// Everything `send_email` reads.
pub struct EmailCtx<'a> {
    pub renderer: &'a Renderer,
    pub ctx: &'a Context,
    pub contact: Option<&'a Contact>,
    pub settings: &'a MailSettings,
    pub run_id: Option<&'a str>,
    pub now_ms: i64,
}

/// Renders and queues one email; `skipped` for a DND contact unless transactional.
pub fn send_email(
    e: &EmailCtx,
    spec: &SendEmail,
    tx: &StepTx<'_>,
) -> StepResult<(StepStatus, Value, Value)> {
    let fail = |input: &Value, message: String| Abort::fail(StepFailure::new(input, message));
    let render = |arg: &Arg| {
        e.renderer
            .render_arg(arg, e.ctx)
            .map_err(|err| fail(&Value::Null, err.message))
    };
    let text_of = |v: Value| match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    };
    let to = match &spec.to {
        Some(arg) => text_of(render(arg)?),
        None => e
            .contact
            .and_then(|c| c.email.as_ref().map(|m| m.as_str().to_string())),
    };
    let list = |args: &[Arg]| -> StepResult<Vec<String>> {
        let mut out = Vec::new();
        for a in args {
            match render(a)? {
                Value::Array(items) => out.extend(items.into_iter().filter_map(text_of)),
                v => out.extend(text_of(v)),
            }
        }
        Ok(out.into_iter().filter(|s| !s.trim().is_empty()).collect())
    };
    let cc = list(&spec.cc)?;
    let bcc = list(&spec.bcc)?;
    let subject = text_of(render(&spec.subject)?).unwrap_or_default();
    let text = match &spec.body {
        Some(a) => text_of(render_text(e, a)?),
        None => None,
    };
    let html = match (&spec.html, &spec.template) {
        (Some(a), _) => text_of(render_html(e, a)?),
        (None, Some((_, source))) => Some(
            e.renderer
                .render_text(source, e.ctx, true)
                .map_err(|err| fail(&Value::Null, err.message))?,
        ),
        (None, None) => None,
    };
    let input = json!({
        "to": to, "cc": cc, "bcc": bcc, "subject": subject,
        "template": spec.template.as_ref().map(|(p, _)| p.clone()),
        "transactional": spec.transactional,
    });
    let Some(to) = to.filter(|t| !t.trim().is_empty()) else {
        let why = match e.contact {
            None => "send_email has no recipient: the run has no contact and the step has no `to`",
            Some(_) => {
                "send_email has no recipient: the contact has no email and the step has no `to`"
            }
        };
        return Err(fail(&input, why.to_string()));
    };
    for addr in std::iter::once(&to).chain(&cc).chain(&bcc) {
        if let Err(why) = addr.trim().parse::<lettre::message::Mailbox>() {
            return Err(fail(
                &input,
                format!("send_email: {addr:?} is not a valid address ({why})"),
            ));
        }
    }
    let id = new_ulid();
    let token = new_token();
    let dnd = e.contact.is_some_and(|c| c.dnd);
    let skip = dnd && !spec.transactional;
    let record = OutboxRecord {
        id: id.clone(),
        to: to.trim().to_string(),
        cc,
        bcc,
        from: Some(e.settings.from.clone()),
        subject,
        text,
        html,
        state: if skip {
            OutboxState::Skipped
        } else {
            OutboxState::Queued
        },
        attempts: 0,
        last_error: None,
        message_id: None,
        run_id: e.run_id.map(str::to_string),
        contact_id: e.contact.map(|c| c.id.clone()),
        unsubscribe_url: Some(format!("{}/unsubscribe/{token}", e.settings.public_url)),
        unsubscribe_token: Some(token),
        created_at: e.now_ms,
        // Due at once; like every recorded time, on hookflow's clock (manual included).
        next_attempt_at: e.now_ms,
        sent_at: None,
        eml_path: None,
        skip_reason: skip.then(|| {
            "the contact is DND (do not disturb); only transactional emails reach them".to_string()
        }),
    };
    tx.insert_email::<StepFailure>(&record, e.contact.map(|c| c.id.as_str()))?;
    let output = json!({"email_id": id, "state": record.state, "skip_reason": record.skip_reason});
    let status = if skip {
        StepStatus::Skipped
    } else {
        StepStatus::Succeeded
    };
    Ok((status, input, output))
}

fn render_text(e: &EmailCtx, arg: &Arg) -> StepResult<Value> {
    render_source(e, arg, false)
}

fn render_html(e: &EmailCtx, arg: &Arg) -> StepResult<Value> {
    render_source(e, arg, true)
}

/// Bodies are whole texts (not typed values): render them as text, escaped for HTML.
fn render_source(e: &EmailCtx, arg: &Arg, html: bool) -> StepResult<Value> {
    match arg {
        Arg::Template { source, .. } => e
            .renderer
            .render_text(source, e.ctx, html)
            .map(Value::String)
            .map_err(|err| Abort::fail(StepFailure::new(&Value::Null, err.message))),
        other => e
            .renderer
            .render_arg(other, e.ctx)
            .map_err(|err| Abort::fail(StepFailure::new(&Value::Null, err.message))),
    }
}
