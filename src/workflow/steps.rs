//! Resolves steps: arguments become checked templates or literals, sequence ids are checked
//! against `workflows/sequences/`, email template files are read, waits are parsed.

use super::def::{FindContactDef, IfDef, SendEmailDef, StepDef, StrOrMap, UpdateContactDef};
use super::model::{FindContact, If, Pos, SendEmail, Step, StepKind, UpdateContact, Wait};
use super::resolve::{pos, Ctx, Resolved};
use crate::domain::duration::parse_duration;
use crate::domain::ids::WorkflowId;
use serde_saphyr::Spanned;
use std::path::Component;
use std::sync::Arc;

/// The step kinds a sequence may contain.
pub const SEQUENCE_KINDS: [&str; 5] = ["send_email", "wait", "add_tag", "remove_tag", "set_dnd"];

/// Resolves a list of steps in order.
pub fn resolve_steps(ctx: &Ctx, defs: &[Spanned<StepDef>]) -> Resolved<Vec<Step>> {
    defs.iter().map(|d| resolve_step(ctx, d)).collect()
}

fn resolve_step(ctx: &Ctx, def: &Spanned<StepDef>) -> Resolved<Step> {
    let at = &def.referenced;
    let kind = match &def.value {
        StepDef::FindContact(d) => StepKind::FindContact(find_contact(ctx, d, def)?),
        StepDef::UpdateContact(d) => StepKind::UpdateContact(update_contact(ctx, d)?),
        StepDef::AddTag(d) => StepKind::AddTag(ctx.args(d)?),
        StepDef::RemoveTag(d) => StepKind::RemoveTag(ctx.args(d)?),
        StepDef::AddToSequence(id) => StepKind::AddToSequence(sequence_id(ctx, id)?),
        StepDef::RemoveFromSequence(id) => StepKind::RemoveFromSequence(sequence_id(ctx, id)?),
        StepDef::SendEmail(d) => StepKind::SendEmail(send_email(ctx, d, def)?),
        StepDef::SetDnd(b) => StepKind::SetDnd(b.value),
        StepDef::Wait(w) => StepKind::Wait(wait(ctx, w)?),
        StepDef::If(d) => StepKind::If(if_step(ctx, d)?),
    };
    if ctx.in_sequence && !SEQUENCE_KINDS.contains(&kind.name()) {
        return Err(ctx.err(
            at,
            format!(
                "step `{}` is not allowed in a sequence; sequences may use: {}",
                kind.name(),
                SEQUENCE_KINDS.join(", ")
            ),
        ));
    }
    Ok(Step { kind, pos: pos(at) })
}

fn find_contact(ctx: &Ctx, d: &FindContactDef, at: &Spanned<StepDef>) -> Resolved<FindContact> {
    if d.email.is_none() && d.phone.is_none() {
        return Err(ctx.err(
            &at.referenced,
            "find_contact needs `email` or `phone` to match on, e.g. {email: \"{{ email }}\"}",
        ));
    }
    Ok(FindContact {
        email: ctx.opt_arg(&d.email)?,
        phone: ctx.opt_arg(&d.phone)?,
        first_name: ctx.opt_arg(&d.first_name)?,
        last_name: ctx.opt_arg(&d.last_name)?,
        create: d.create,
    })
}

fn update_contact(ctx: &Ctx, d: &UpdateContactDef) -> Resolved<UpdateContact> {
    let custom = d
        .custom
        .0
        .iter()
        .map(|(k, v)| Ok((k.value.clone(), ctx.arg(v)?)))
        .collect::<Resolved<Vec<_>>>()?;
    Ok(UpdateContact {
        first_name: ctx.opt_arg(&d.first_name)?,
        last_name: ctx.opt_arg(&d.last_name)?,
        email: ctx.opt_arg(&d.email)?,
        phone: ctx.opt_arg(&d.phone)?,
        timezone: ctx.opt_arg(&d.timezone)?,
        source: ctx.opt_arg(&d.source)?,
        custom,
    })
}

fn sequence_id(ctx: &Ctx, id: &Spanned<String>) -> Resolved<WorkflowId> {
    let parsed = WorkflowId::parse(&id.value).map_err(|m| ctx.err(&id.referenced, m))?;
    if !ctx.sequences.contains(&parsed) {
        let known: Vec<&str> = ctx.sequences.iter().map(|s| s.as_str()).collect();
        return Err(ctx.err(
            &id.referenced,
            format!(
                "unknown sequence `{}`: no file sequences/{}.yaml; known sequences: {}",
                id.value,
                id.value,
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    Ok(parsed)
}

fn send_email(ctx: &Ctx, d: &SendEmailDef, at: &Spanned<StepDef>) -> Resolved<SendEmail> {
    let Some(subject) = &d.subject else {
        return Err(ctx.err(&at.referenced, "send_email needs a `subject`"));
    };
    if d.body.is_none() && d.html.is_none() && d.template.is_none() {
        return Err(ctx.err(
            &at.referenced,
            "send_email needs `body`, `html` or `template` (e.g. template: templates/booked.html)",
        ));
    }
    let template = match &d.template {
        Some(t) => Some(email_template(ctx, t)?),
        None => None,
    };
    let list = |v: &Option<Spanned<_>>| match v {
        Some(v) => ctx.args(v),
        None => Ok(Vec::new()),
    };
    Ok(SendEmail {
        to: ctx.opt_arg(&d.to)?,
        cc: list(&d.cc)?,
        bcc: list(&d.bcc)?,
        subject: ctx.arg(subject)?,
        body: ctx.opt_arg(&d.body)?,
        html: ctx.opt_arg(&d.html)?,
        template,
        transactional: d.transactional,
    })
}

/// Reads `templates/x.html` from the workflows directory; the path must stay inside it.
fn email_template(ctx: &Ctx, t: &Spanned<String>) -> Resolved<(String, Arc<str>)> {
    let rel = std::path::Path::new(&t.value);
    let inside = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if t.value.is_empty() || !inside {
        return Err(ctx.err(
            &t.referenced,
            format!("template path `{}` must be relative to the workflows directory without `..`, e.g. templates/booked.html", t.value),
        ));
    }
    let full = ctx.dir.join(rel);
    let text = std::fs::read_to_string(&full).map_err(|e| {
        ctx.err(
            &t.referenced,
            format!(
                "cannot read template `{}` ({}): {e}",
                t.value,
                full.display()
            ),
        )
    })?;
    // Positions are the template file's own, so an editor jumps to the line in it.
    let reads = ctx.renderer.text_reads(&text, Pos::default());
    let label = full.display().to_string();
    ctx.reads(&label, &text, reads, None).map_err(|mut d| {
        let at = pos(&t.referenced);
        d.message = format!(
            "{} (in the template of the send_email at {}:{}:{})",
            d.message, ctx.file, at.line, at.column
        );
        d
    })?;
    Ok((t.value.clone(), Arc::from(text)))
}

fn wait(ctx: &Ctx, w: &Spanned<StrOrMap<super::def::WaitUntilDef>>) -> Resolved<Wait> {
    match &w.value {
        StrOrMap::Str(s) => parse_duration(s)
            .map(Wait::For)
            .map_err(|m| ctx.err(&w.referenced, format!("wait: {m}"))),
        StrOrMap::Map(m) => {
            let (hour, minute) = parse_hhmm(&m.until.value).ok_or_else(|| {
                ctx.err(
                    &m.until.referenced,
                    format!(
                        "wait.until `{}` must be a 24-hour time HH:MM, e.g. \"09:00\"",
                        m.until.value
                    ),
                )
            })?;
            Ok(Wait::Until { hour, minute })
        }
    }
}

/// `HH:MM` on a 24-hour clock.
fn parse_hhmm(s: &str) -> Option<(u8, u8)> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

fn if_step(ctx: &Ctx, d: &IfDef) -> Resolved<If> {
    Ok(If {
        condition: ctx.condition(&d.condition)?,
        then: resolve_steps(ctx, &d.then)?,
        otherwise: resolve_steps(ctx, &d.otherwise)?,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_hhmm;

    #[test]
    fn until_takes_24_hour_hh_mm_only() {
        assert_eq!(parse_hhmm("09:00"), Some((9, 0)));
        assert_eq!(parse_hhmm("23:59"), Some((23, 59)));
        for bad in ["9:00", "24:00", "12:60", "noon", "12:00:00", "+1:00"] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }
}
