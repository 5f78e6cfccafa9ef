//! Changing a found contact inside a transaction: fields, tags, DND.
//!
//! Every operation edits a copy and goes through `commit`, which diffs it against the stored
//! version: no difference means no write and no timeline entry (the step is a `noop`).

use super::{ChangeCtx, ContactTx, TxResult};
use crate::domain::contact::{Contact, Email, Enrolment, Phone, Tag};
use serde_json::{json, Map, Value};

/// Fields an `update_contact` step sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ContactUpdate {
    /// New first name.
    pub first_name: Option<String>,
    /// New last name.
    pub last_name: Option<String>,
    /// New email (must not belong to another contact).
    pub email: Option<Email>,
    /// New phone.
    pub phone: Option<Phone>,
    /// New IANA time zone.
    pub timezone: Option<String>,
    /// New source.
    pub source: Option<String>,
    /// Custom fields to set (others are kept; a JSON null value removes one).
    pub custom: Map<String, Value>,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOutcome {
    /// The contact after the update.
    pub contact: Contact,
    /// False when nothing differed (a `noop` step).
    pub changed: bool,
    /// The timeline's description of the change (`{}` when none).
    pub changes: Value,
}

/// Applies `update` to `contact` (the stored version); an email clash aborts with `EmailTaken`.
pub fn apply_update(
    tx: &ContactTx<'_>,
    contact: &Contact,
    update: &ContactUpdate,
    ctx: &ChangeCtx,
) -> TxResult<UpdateOutcome> {
    let mut after = contact.clone();
    let set = |field: &mut Option<String>, value: &Option<String>| {
        if let Some(v) = value {
            *field = Some(v.clone());
        }
    };
    set(&mut after.first_name, &update.first_name);
    set(&mut after.last_name, &update.last_name);
    set(&mut after.timezone, &update.timezone);
    set(&mut after.source, &update.source);
    if update.email.is_some() {
        after.email = update.email.clone();
    }
    if update.phone.is_some() {
        after.phone = update.phone.clone();
    }
    for (key, value) in &update.custom {
        if value.is_null() {
            after.custom.remove(key);
        } else {
            after.custom.insert(key.clone(), value.clone());
        }
    }
    commit(tx, contact, after, ctx)
}

/// Adds the tags not yet present (case-insensitively); returns the contact and those added.
pub fn add_tags(
    tx: &ContactTx<'_>,
    contact: &Contact,
    tags: &[Tag],
    ctx: &ChangeCtx,
) -> TxResult<(Contact, Vec<Tag>)> {
    let mut after = contact.clone();
    let mut added = Vec::new();
    for tag in tags {
        if !after.tags.iter().any(|t| t.key() == tag.key()) {
            after.tags.push(tag.clone());
            added.push(tag.clone());
        }
    }
    Ok((commit(tx, contact, after, ctx)?.contact, added))
}

/// Removes the tags present (case-insensitively); returns the contact and the tags removed, as
/// they were stored.
pub fn remove_tags(
    tx: &ContactTx<'_>,
    contact: &Contact,
    tags: &[Tag],
    ctx: &ChangeCtx,
) -> TxResult<(Contact, Vec<Tag>)> {
    let keys: Vec<String> = tags.iter().map(Tag::key).collect();
    let mut after = contact.clone();
    let (removed, kept) = after.tags.drain(..).partition(|t| keys.contains(&t.key()));
    after.tags = kept;
    Ok((commit(tx, contact, after, ctx)?.contact, removed))
}

/// Sets do-not-disturb; returns the contact and whether it changed.
pub fn set_dnd(
    tx: &ContactTx<'_>,
    contact: &Contact,
    dnd: bool,
    ctx: &ChangeCtx,
) -> TxResult<(Contact, bool)> {
    let after = Contact {
        dnd,
        ..contact.clone()
    };
    let outcome = commit(tx, contact, after, ctx)?;
    Ok((outcome.contact, outcome.changed))
}

/// Puts `enrolment` into the contact's `sequences` (replacing the one of that sequence);
/// returns the contact as stored.
pub fn set_enrolment(
    tx: &ContactTx<'_>,
    contact: &Contact,
    enrolment: Enrolment,
    ctx: &ChangeCtx,
) -> TxResult<Contact> {
    let mut after = contact.clone();
    match after
        .sequences
        .iter_mut()
        .find(|e| e.sequence == enrolment.sequence)
    {
        Some(e) => *e = enrolment,
        None => after.sequences.push(enrolment),
    }
    Ok(commit(tx, contact, after, ctx)?.contact)
}

/// Stores `after` with a timeline entry when it differs from `before`.
pub(crate) fn commit(
    tx: &ContactTx<'_>,
    before: &Contact,
    mut after: Contact,
    ctx: &ChangeCtx,
) -> TxResult<UpdateOutcome> {
    let changes = diff(before, &after);
    if changes.as_object().is_some_and(Map::is_empty) {
        return Ok(UpdateOutcome {
            contact: before.clone(),
            changed: false,
            changes,
        });
    }
    after.updated_at = ctx.now;
    tx.update(before, &after, &ctx.entry(changes.clone()))?;
    Ok(UpdateOutcome {
        contact: after,
        changed: true,
        changes,
    })
}

/// What differs between two versions of a contact, in timeline form:
/// `{"field": {"from", "to"}}`, `"custom.key"` likewise, `"tags_added"`/`"tags_removed"` lists.
pub(crate) fn diff(before: &Contact, after: &Contact) -> Value {
    // Field by field on the records: serialising both whole contacts to compare them cost a
    // booking's run more than its contact's own encoding.
    let mut out = Map::new();
    changed(
        &mut out,
        "first_name",
        &before.first_name,
        &after.first_name,
    );
    changed(&mut out, "last_name", &before.last_name, &after.last_name);
    changed(&mut out, "email", &before.email, &after.email);
    changed(&mut out, "phone", &before.phone, &after.phone);
    changed(&mut out, "dnd", &before.dnd, &after.dnd);
    changed(&mut out, "timezone", &before.timezone, &after.timezone);
    changed(&mut out, "source", &before.source, &after.source);
    changed(&mut out, "sequences", &before.sequences, &after.sequences);
    let added = tags_missing_from(&after.tags, &before.tags);
    let removed = tags_missing_from(&before.tags, &after.tags);
    if !added.is_empty() {
        out.insert("tags_added".into(), json!(added));
    }
    if !removed.is_empty() {
        out.insert("tags_removed".into(), json!(removed));
    }
    if added.is_empty() && removed.is_empty() {
        // Same tags, new spelling or order (only a PATCH can do that).
        changed(&mut out, "tags", &before.tags, &after.tags);
    }
    let keys = before.custom.keys().chain(
        after
            .custom
            .keys()
            .filter(|k| !before.custom.contains_key(*k)),
    );
    for key in keys {
        let (from, to) = (before.custom.get(key), after.custom.get(key));
        if from != to {
            out.insert(format!("custom.{key}"), json!({"from": from, "to": to}));
        }
    }
    Value::Object(out)
}

fn tags_missing_from<'t>(tags: &'t [Tag], other: &[Tag]) -> Vec<&'t str> {
    tags.iter()
        .filter(|t| !other.iter().any(|o| o.key() == t.key()))
        .map(Tag::as_str)
        .collect()
}

/// Adds `{"from", "to"}` under `field` when the two differ.
fn changed<T: PartialEq + serde::Serialize>(
    out: &mut Map<String, Value>,
    field: &str,
    from: &T,
    to: &T,
) {
    if from != to {
        out.insert(field.into(), json!({"from": from, "to": to}));
    }
}
