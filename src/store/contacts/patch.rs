//! The admin API's edits, each its own transaction: JSON merge patch (RFC 7396) and delete.

use super::change::commit;
use super::timeline;
use super::{ChangeCtx, ContactError, ContactTrees};
use crate::domain::contact::{Contact, Email, Phone, Tag};
use serde_json::{Map, Value};

/// The fields a PATCH may set, for error messages.
const PATCHABLE: &str = "first_name, last_name, email, phone, tags, custom, dnd, timezone, source";

impl ContactTrees {
    /// Applies a JSON merge patch to contact `id` and returns the result. Wrong fields or types
    /// are `Invalid`; an email another contact has is `EmailTaken` (HTTP 409).
    pub fn merge_patch(
        &self,
        id: &str,
        patch: &Value,
        default_region: &str,
        ctx: &ChangeCtx,
    ) -> Result<Contact, ContactError> {
        let Value::Object(patch) = patch else {
            return Err(ContactError::Invalid(
                "a contact patch must be a JSON object of the fields to change".into(),
            ));
        };
        self.transaction(|tx| {
            let Some(before) = tx.get(id)? else {
                return Err(ContactError::NotFound.into());
            };
            let after = patched(&before, patch, default_region)?;
            Ok(commit(tx, &before, after, ctx)?.contact)
        })
    }

    /// Deletes contact `id`, its index entries and its timeline; `NotFound` when it is not there.
    pub fn delete(&self, id: &str) -> Result<Contact, ContactError> {
        let contact = self
            .transaction(|tx| tx.delete(id))?
            .ok_or(ContactError::NotFound)?;
        // After the delete commits no transaction can append to this timeline (they would find
        // no contact), so clearing it outside the transaction is safe. A crash in between only
        // leaves unreachable entries. Each key goes whole, with every entry it holds.
        let mut batch = sled::Batch::default();
        for key in self.timeline.scan_prefix(timeline::prefix(id)).keys() {
            batch.remove(key?);
        }
        self.timeline.apply_batch(batch)?;
        Ok(contact)
    }
}

/// `before` with `patch` applied, every value validated and normalised.
fn patched(
    before: &Contact,
    patch: &Map<String, Value>,
    region: &str,
) -> Result<Contact, ContactError> {
    let mut c = before.clone();
    for (field, value) in patch {
        match field.as_str() {
            "first_name" => c.first_name = text(field, value)?,
            "last_name" => c.last_name = text(field, value)?,
            "timezone" => c.timezone = text(field, value)?,
            "source" => c.source = text(field, value)?,
            "email" => {
                c.email = text(field, value)?
                    .map(|s| Email::parse(&s).map_err(ContactError::Invalid))
                    .transpose()?
            }
            "phone" => {
                c.phone = text(field, value)?
                    .map(|s| Phone::parse(&s, region).map_err(ContactError::Invalid))
                    .transpose()?
            }
            "dnd" => {
                c.dnd = value
                    .as_bool()
                    .ok_or_else(|| invalid_type(field, "true or false"))?
            }
            "tags" => c.tags = tags(value)?,
            "custom" => match value {
                Value::Null => c.custom.clear(),
                Value::Object(m) => merge_into(&mut c.custom, m),
                _ => return Err(invalid_type(field, "an object or null")),
            },
            "id" | "sequences" | "created_at" | "updated_at" => {
                return Err(ContactError::Invalid(format!(
                    "`{field}` cannot be changed by a patch; patchable fields are {PATCHABLE}"
                )))
            }
            _ => {
                return Err(ContactError::Invalid(format!(
                    "unknown field `{field}`; patchable fields are {PATCHABLE}"
                )))
            }
        }
    }
    Ok(c)
}

/// A string field: null or blank clears it, anything else but a string is an error.
fn text(field: &str, value: &Value) -> Result<Option<String>, ContactError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        _ => Err(invalid_type(field, "a string or null")),
    }
}

/// The new tag list: a merge patch replaces arrays whole; duplicates (by key) keep the first.
fn tags(value: &Value) -> Result<Vec<Tag>, ContactError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(invalid_type("tags", "a list of strings or null")),
    };
    let mut out: Vec<Tag> = Vec::new();
    for item in items {
        let s = item
            .as_str()
            .ok_or_else(|| invalid_type("tags", "a list of strings or null"))?;
        let tag = Tag::parse(s).map_err(|e| ContactError::Invalid(format!("tags: {e}")))?;
        if !out.iter().any(|t| t.key() == tag.key()) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// RFC 7396 on an object: null removes a key, objects merge recursively, the rest replaces.
fn merge_into(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let slot = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(t) = slot {
                    merge_into(t, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

fn invalid_type(field: &str, expected: &str) -> ContactError {
    ContactError::Invalid(format!("`{field}` must be {expected}"))
}
