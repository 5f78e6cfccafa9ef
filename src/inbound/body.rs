//! Turns a raw inbound request (content type, body bytes, query string) into the JSON payload a
//! workflow sees, or into the precise 400/415 message the sender gets back.
//!
//! Accepted bodies:
//! - `application/json` and any `…+json` type (charset ignored: JSON is UTF-8): strict JSON
//!   (see [`strict_json`](super::strict_json)) holding an object, or an array of objects — one
//!   workflow item per element. An empty array is accepted and yields no items. A scalar, or an
//!   array holding anything but objects, is a 400: an item must have fields to map.
//! - `application/x-www-form-urlencoded`: an object of strings; a repeated key keeps every value,
//!   in order, as an array of strings.
//! - `text/plain` holding JSON (some senders mislabel), with the same rules.
//! - An empty body (any content type): the query parameters, like `GET`.
//! - No content type: JSON is tried; a body that is not JSON is a 415.

use super::strict_json::{parse_strict, JsonError, JsonErrorKind};
use serde_json::{Map, Value};
use std::borrow::Cow;
use url::form_urlencoded;

/// The media types hookflow takes, for error messages.
const ACCEPTED: &str =
    "application/json, application/x-www-form-urlencoded, or text/plain holding JSON";

/// Why a body cannot become a payload; `Display` is the message for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// 400: the body is of an accepted type but malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 415: the body is of a type hookflow does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl PayloadError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            PayloadError::BadRequest(_) => 400,
            PayloadError::UnsupportedMediaType(_) => 415,
        }
    }
}

/// Parses an inbound request's body into its payload (see the module doc for the rules).
pub fn parse_payload(
    content_type: Option<&str>,
    body: &[u8],
    query: &str,
) -> Result<Value, PayloadError> {
    if body.is_empty() {
        return Ok(query_object(query));
    }
    let media = content_type.map(media_type).filter(|m| !m.is_empty());
    let Some(media) = media else {
        return parse_json(body).map_err(|e| match e.kind {
            JsonErrorKind::Strictness => PayloadError::BadRequest(e.message),
            _ => PayloadError::UnsupportedMediaType(format!(
                "no Content-Type header and the body is not JSON ({}); send {ACCEPTED}",
                e.message
            )),
        });
    };
    if media == "application/json" || media.ends_with("+json") {
        parse_json(body).map_err(|e| PayloadError::BadRequest(e.message))
    } else if media == "application/x-www-form-urlencoded" {
        Ok(pairs_object(form_urlencoded::parse(body)))
    } else if media == "text/plain" {
        parse_json(body).map_err(|e| match e.kind {
            JsonErrorKind::Strictness => PayloadError::BadRequest(e.message),
            _ => PayloadError::BadRequest(format!(
                "text/plain body is not JSON ({}); hookflow reads text/plain only when it holds JSON",
                e.message
            )),
        })
    } else {
        Err(PayloadError::UnsupportedMediaType(format!(
            "unsupported Content-Type {media:?}; send {ACCEPTED}"
        )))
    }
}

/// The query string (with or without its leading `?`) as an object of strings; a repeated key
/// keeps every value, in order, as an array of strings. This is `request.query` in templates.
pub fn query_object(query: &str) -> Value {
    let query = query.strip_prefix('?').unwrap_or(query);
    pairs_object(form_urlencoded::parse(query.as_bytes()))
}

/// The default split: a top-level array becomes its elements, anything else is one item.
pub fn default_split(payload: Value) -> Vec<Value> {
    match payload {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// The lowercased `type/subtype` of a Content-Type value, parameters dropped.
fn media_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.trim().to_ascii_lowercase()
}

/// Strict JSON that is an object or an array of objects.
fn parse_json(body: &[u8]) -> Result<Value, JsonError> {
    let value = parse_strict(body)?;
    let refuse = |message: String| JsonError {
        kind: JsonErrorKind::Strictness,
        message,
        line: 1,
        column: 1,
    };
    match &value {
        Value::Object(_) => Ok(value),
        Value::Array(items) => match items.iter().position(|item| !item.is_object()) {
            None => Ok(value),
            Some(i) => Err(refuse(format!(
                "element $[{i}] of the top-level array is {}; a top-level array must hold only \
                 objects, one per item",
                kind_of(&items[i])
            ))),
        },
        scalar => Err(refuse(format!(
            "the JSON body is {}; send an object or an array of objects",
            kind_of(scalar)
        ))),
    }
}

/// "a string", "an array", … for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Name/value pairs as an object of strings; repeated names collect into arrays.
fn pairs_object<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Value {
    let mut object = Map::new();
    for (name, value) in pairs {
        let value = Value::String(value.into_owned());
        match object.get_mut(name.as_ref()) {
            None => {
                object.insert(name.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                object.insert(name.into_owned(), Value::Array(vec![first, value]));
            }
        }
    }
    Value::Object(object)
}
