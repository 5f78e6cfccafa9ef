//! Turns a raw inbound request (content type, body bytes, query string) into the JSON payload a
//! workflow sees, or into the precise 400/415 message the sender gets back.
//!
//! Accepted bodies:
//! - `application/json` and any `…+json` type (charset ignored: JSON is UTF-8): strict JSON
//!   (see [`strict_json`](super::strict_json)) holding an object, or an array of objects — one
//!   workflow item per element. An empty array is accepted and yields no items. A scalar, or an
//!   array holding anything but objects, is a 400: an item must have fields to map.
//! - `application/x-www-form-urlencoded`: an object of strings; a repeated key keeps every value,
//!   in order, as an array of strings. The body, and every percent-decoded name and value, must be
//!   UTF-8 (a lossy decoding would store U+FFFD where the sender meant something else).
//! - `text/plain` holding JSON (some senders mislabel), with the same rules.
//! - An empty body (any content type): the query parameters, like `GET`.
//! - No content type: JSON is tried; a body that is not JSON is a 415.
//!
//! A Content-Type that does not parse, or names a charset other than UTF-8, is a 415 whatever the
//! body ([`check_content_type`], which the HTTP layer calls before reading the body).
//! [`decode_and_parse`] is the whole path from the bytes as sent: content coding, then parsing.

use super::encoding::{self, DecodeError};
use super::strict_json::{parse_strict, JsonError, JsonErrorKind};
use percent_encoding::percent_decode_str;
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
    /// 413: the body, once decoded, passes the workflow's size limit.
    #[error("{0}")]
    TooLarge(String),
}

impl From<DecodeError> for PayloadError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Unsupported(_) => PayloadError::UnsupportedMediaType(e.to_string()),
            DecodeError::TooLarge { .. } => PayloadError::TooLarge(e.to_string()),
            DecodeError::Corrupt { .. } => PayloadError::BadRequest(e.to_string()),
        }
    }
}

impl PayloadError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            PayloadError::BadRequest(_) => 400,
            PayloadError::UnsupportedMediaType(_) => 415,
            PayloadError::TooLarge(_) => 413,
        }
    }
}

/// Refuses, before the body is read, a Content-Type that does not parse or whose `charset` is
/// not UTF-8 (JSON and hookflow's forms are UTF-8; another charset would be misread). An
/// absent or blank header passes.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), PayloadError> {
    let Some(text) = content_type.filter(|t| !t.trim().is_empty()) else {
        return Ok(());
    };
    let parsed: mime::Mime = text.trim().parse().map_err(|e| {
        PayloadError::UnsupportedMediaType(format!(
            "Content-Type {text:?} does not parse ({e}); send {ACCEPTED}"
        ))
    })?;
    match parsed.get_param(mime::CHARSET) {
        Some(cs) if !matches!(cs.as_str().to_ascii_lowercase().as_str(), "utf-8" | "utf8") => {
            Err(PayloadError::UnsupportedMediaType(format!(
                "charset {:?} is not supported; encode the body as UTF-8 (charset=utf-8)",
                cs.as_str()
            )))
        }
        _ => Ok(()),
    }
}

/// A body as [`decode_and_parse`] read it.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The body with its `Content-Encoding` undone (borrowed when there was none).
    pub body: Cow<'a, [u8]>,
    /// What templates and paths read.
    pub payload: Value,
    /// The payload is exactly the strict JSON parse of `body` (not a form, not the query of an
    /// empty body), so the request log need not keep both.
    pub payload_is_body: bool,
}

/// The whole path from the bytes as sent to the payload: checks the Content-Type, undoes the
/// `Content-Encoding` within `limit` decoded bytes, and parses.
pub fn decode_and_parse<'a>(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &'a [u8],
    query: &str,
    limit: u64,
) -> Result<Decoded<'a>, PayloadError> {
    check_content_type(content_type)?;
    let codings = encoding::codings(content_encoding)?;
    let decoded = encoding::decode(&codings, body, limit)?;
    let (payload, payload_is_body) = parse(content_type, &decoded, query)?;
    Ok(Decoded {
        body: decoded,
        payload,
        payload_is_body,
    })
}

/// Parses an inbound request's body into its payload (see the module doc for the rules).
pub fn parse_payload(
    content_type: Option<&str>,
    body: &[u8],
    query: &str,
) -> Result<Value, PayloadError> {
    check_content_type(content_type)?;
    parse(content_type, body, query).map(|(payload, _)| payload)
}

/// The payload, and whether it is the body read as strict JSON (the Content-Type is checked).
fn parse(
    content_type: Option<&str>,
    body: &[u8],
    query: &str,
) -> Result<(Value, bool), PayloadError> {
    if body.is_empty() {
        return Ok((query_object(query), false));
    }
    let media = content_type.map(media_type).filter(|m| !m.is_empty());
    let json = |e: fn(JsonError) -> PayloadError| parse_json(body).map(|v| (v, true)).map_err(e);
    let Some(media) = media else {
        return json(|e| match e.kind {
            JsonErrorKind::Strictness => PayloadError::BadRequest(e.message),
            _ => PayloadError::UnsupportedMediaType(format!(
                "no Content-Type header and the body is not JSON ({}); send {ACCEPTED}",
                e.message
            )),
        });
    };
    if media == "application/json" || media.ends_with("+json") {
        json(|e| PayloadError::BadRequest(e.message))
    } else if media == "application/x-www-form-urlencoded" {
        Ok((parse_form(body)?, false))
    } else if media == "text/plain" {
        json(|e| {
            match e.kind {
            JsonErrorKind::Strictness => PayloadError::BadRequest(e.message),
            _ => PayloadError::BadRequest(format!(
                "text/plain body is not JSON ({}); hookflow reads text/plain only when it holds JSON",
                e.message
            )),
        }
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

/// A form body as an object of strings; the body and every decoded name and value must be UTF-8.
fn parse_form(body: &[u8]) -> Result<Value, PayloadError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        PayloadError::BadRequest(format!(
            "form body is not valid UTF-8 at byte {}; send it encoded as UTF-8",
            e.valid_up_to()
        ))
    })?;
    let mut pairs = Vec::new();
    for (i, pair) in text.split('&').filter(|p| !p.is_empty()).enumerate() {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |part: &str, what: &str| {
            let spaced = part.replace('+', " ");
            percent_decode_str(&spaced)
                .decode_utf8()
                .map(|c| Cow::Owned(c.into_owned()))
                .map_err(|_| {
                    PayloadError::BadRequest(format!(
                        "form field {}: its percent-decoded {what} is not UTF-8; percent-encode \
                         UTF-8 bytes",
                        i + 1
                    ))
                })
        };
        pairs.push((decode(name, "name")?, decode(value, "value")?));
    }
    Ok(pairs_object(pairs.into_iter()))
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
