//! Rendered bodies, kept apart from the outbox row: the row is written again at every delivery
//! state change (`sending`, `sent`, a retry), the body only once, with the row's first version
//! and in the same transaction. Rows written before this split hold their bodies inline; they
//! keep them, and reading one looks no further.

use super::{OutboxError, OutboxRecord};
use crate::store::codec;
use serde::{Deserialize, Serialize};

/// The `id → body` tree's name.
pub(super) const TREE: &str = "outbox_bodies";

/// The rendered parts of an email.
#[derive(Serialize, Deserialize)]
struct Body {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    html: Option<String>,
}

/// The row without its body, and the body when there is one, as they are stored.
pub(super) fn split(record: &OutboxRecord) -> (Vec<u8>, Option<Vec<u8>>) {
    if record.text.is_none() && record.html.is_none() {
        return (codec::encode(record), None);
    }
    let body = Body {
        text: record.text.clone(),
        html: record.html.clone(),
    };
    let row = OutboxRecord {
        text: None,
        html: None,
        ..record.clone()
    };
    (codec::encode(&row), Some(codec::encode(&body)))
}

/// Puts the stored body back into a record read from its row (a row holding its body inline,
/// written before the split, is left as it is).
pub(super) fn fill(bodies: &sled::Tree, record: &mut OutboxRecord) -> Result<(), OutboxError> {
    if record.text.is_some() || record.html.is_some() {
        return Ok(());
    }
    let Some(bytes) = bodies.get(record.id.as_bytes())? else {
        return Ok(());
    };
    let body: Body = codec::decode(TREE, &bytes).map_err(|e| OutboxError::Corrupt {
        id: record.id.clone(),
        reason: e.to_string(),
    })?;
    record.text = body.text;
    record.html = body.html;
    Ok(())
}
