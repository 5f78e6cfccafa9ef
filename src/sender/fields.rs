//! Flattens a payload into its leaves with JSONPath paths: the list a marketer browses in the
//! reference to find what to map (`$.data.member_id`, `$[0].participant.email`).

use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

/// At most this many fields are listed: a reference is for browsing, and a payload with a huge
/// array would otherwise make a response of megabytes. A list this long may have been cut.
pub const MAX_FIELDS: usize = 2_000;

/// One leaf of a payload and the JSONPath that selects it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// Normalized JSONPath, e.g. `$.invoice.line_items[0].total` or `$['@type']`.
    pub path: String,
    /// The leaf: a scalar, null, or an empty array or object.
    pub value: Value,
}

/// Every leaf of `value` in document order, capped at [`MAX_FIELDS`].
pub fn flatten(value: &Value) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut path = String::from("$");
    walk(value, &mut path, &mut fields);
    fields
}

fn walk(value: &Value, path: &mut String, out: &mut Vec<Field>) {
    if out.len() >= MAX_FIELDS {
        return;
    }
    let len = path.len();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                push_key(path, key);
                walk(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                walk(child, path, out);
                path.truncate(len);
            }
        }
        leaf => out.push(Field {
            path: path.clone(),
            value: leaf.clone(),
        }),
    }
}

/// Appends `.key` for identifiers, else `['key']` with RFC 9535 escapes.
fn push_key(path: &mut String, key: &str) {
    if is_identifier(key) {
        path.push('.');
        path.push_str(key);
        return;
    }
    path.push_str("['");
    for c in key.chars() {
        match c {
            '\'' => path.push_str("\\'"),
            '\\' => path.push_str("\\\\"),
            '\u{8}' => path.push_str("\\b"),
            '\u{c}' => path.push_str("\\f"),
            '\n' => path.push_str("\\n"),
            '\r' => path.push_str("\\r"),
            '\t' => path.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(path, "\\u{:04x}", c as u32);
            }
            c => path.push(c),
        }
    }
    path.push_str("']");
}

/// `[A-Za-z_][A-Za-z0-9_]*`: keys that may use dot notation.
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
