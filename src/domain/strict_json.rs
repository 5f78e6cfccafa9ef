//! Strict JSON for inbound bodies: serde_json's parser plus two rules — no duplicate keys, at most
//! [`MAX_DEPTH`] levels of nesting — with every error placed at a line and column.
//!
//! Why strict: serde_json silently keeps the last of two duplicate keys, so a sender's bug would
//! change which value a workflow sees without anyone noticing; and a marketer fixing a sample by
//! hand needs to be told where it is broken, in characters, not bytes.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::fmt;

/// The key under which serde_json (feature `arbitrary_precision`) hands a visitor a number: a
/// one-entry map whose value is the number's text as sent. serde_json's own `Value` reads an
/// object with this key the same way; a sender writing it gains nothing but a number.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Deepest nesting of objects and arrays accepted; the top-level container is level 1.
pub const MAX_DEPTH: usize = 64;

/// Why a body is not acceptable strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Whether the body is not JSON at all or JSON that breaks a hookflow rule.
    pub kind: JsonErrorKind,
    /// The whole message for the sender, position included.
    pub message: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem, counted in characters.
    pub column: usize,
}

/// The families of [`JsonError`]; callers answer "not JSON" and "bad JSON" differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The text is not JSON (syntax error, truncated, trailing data).
    Syntax,
    /// Valid JSON that hookflow refuses: a duplicate key or too deep a nesting.
    Strictness,
}

/// Parses `body` as one strict JSON value, keeping key order. A leading UTF-8 byte-order mark
/// is skipped (RFC 8259 allows it, and Windows editors write it).
pub fn parse_strict(body: &[u8]) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let (line, column) = line_column(&String::from_utf8_lossy(body), e.valid_up_to());
        JsonError {
            kind: JsonErrorKind::NotUtf8,
            message: format!(
                "body is not valid UTF-8 at line {line}, column {column}; send JSON encoded as UTF-8"
            ),
            line,
            column,
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let problem = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Strict {
        depth: 0,
        problem: &problem,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| describe(text, &e, problem.get()))
}

/// A rule the visitor enforced; remembered so the error can be placed and worded precisely.
#[derive(Debug, Clone, Copy)]
enum Problem {
    DuplicateKey,
    TooDeep,
}

/// Turns serde_json's error (byte position, terse wording) into a [`JsonError`].
fn describe(text: &str, err: &serde_json::Error, problem: Option<Problem>) -> JsonError {
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let raw = err.to_string();
    let what = raw.strip_suffix(&suffix).unwrap_or(&raw);
    let mut offset = byte_offset(text, err.line(), err.column());
    match problem {
        // serde_json stops after the key; point at its opening quote instead.
        Some(Problem::DuplicateKey) => {
            offset = opening_quote(text, back_over_whitespace(text, offset))
        }
        // Point at the bracket that opened one level too many; serde_json has already read
        // that object's first key, or an empty container's closing bracket.
        Some(Problem::TooDeep) => {
            offset = back_over_whitespace(text, offset);
            if text.as_bytes()[offset] == b'"' {
                offset = opening_quote(text, offset);
                offset = back_over_whitespace(text, offset.saturating_sub(1));
            } else if offset > 0 && matches!(text.as_bytes()[offset], b'}' | b']') {
                offset = back_over_whitespace(text, offset - 1);
            }
        }
        None => {}
    }
    let (line, column) = line_column(text, offset);
    let (kind, message) = match problem {
        Some(Problem::DuplicateKey) => (
            JsonErrorKind::Strictness,
            format!("{what} at line {line}, column {column} — each key may appear once per object"),
        ),
        Some(Problem::TooDeep) => (
            JsonErrorKind::Strictness,
            format!(
                "JSON nested deeper than {MAX_DEPTH} levels at line {line}, column {column}; \
                 flatten the payload"
            ),
        ),
        None => {
            let hint = hint(what, err.classify(), text[offset..].chars().next());
            (
                JsonErrorKind::Syntax,
                format!("invalid JSON at line {line}, column {column}: {what}{hint}"),
            )
        }
    };
    JsonError {
        kind,
        message,
        line,
        column,
    }
}

/// A short explanation of the usual causes of a syntax error, judged by the offending character.
fn hint(what: &str, category: serde_json::error::Category, at: Option<char>) -> &'static str {
    use serde_json::error::Category;
    if category == Category::Eof {
        return " — the body ends before the JSON is complete (was it cut off?)";
    }
    if what == "trailing characters" {
        return " — a body holds exactly one JSON value";
    }
    match at {
        Some('/') | Some('#') => " — comments are not allowed in JSON",
        Some('\u{a0}') => {
            " — a non-breaking space (U+00A0) is not JSON whitespace; was this copied from a web page?"
        }
        Some('\'') => " — JSON strings and keys use double quotes",
        Some('\u{201c}') | Some('\u{201d}') => " — curly quotes are not JSON quotes; use \"",
        Some(c)
            if c.is_alphabetic() && (what == "expected value" || what == "key must be a string") =>
        {
            " — text must be in double quotes"
        }
        _ => "",
    }
}

/// The byte offset of serde_json's (line, column) position; its columns count bytes from 1, and 0
/// means "before the first byte of the line".
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = match line {
        0 | 1 => 0,
        _ => text
            .match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The offset of the last non-whitespace byte at or before `offset`: serde_json reports a rule
/// broken by the visitor only after skipping the whitespace that follows the culprit.
fn back_over_whitespace(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = offset.min(bytes.len().saturating_sub(1));
    while i > 0 && bytes[i].is_ascii_whitespace() {
        i -= 1;
    }
    i
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The offset of the opening quote of the string whose closing quote is at `close`.
fn opening_quote(text: &str, close: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = close;
    while i > 0 {
        i -= 1;
        if bytes[i] == b'"' {
            let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes.is_multiple_of(2) {
                return i;
            }
        }
    }
    close
}

/// A seed that builds a `Value` while enforcing hookflow's rules.
#[derive(Clone, Copy)]
struct Strict<'a> {
    /// How many containers enclose the value being read.
    depth: usize,
    problem: &'a Cell<Option<Problem>>,
}

impl Strict<'_> {
    /// The seed for the children of a container, failing when the container is too deep.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        if self.depth + 1 > MAX_DEPTH {
            self.problem.set(Some(Problem::TooDeep));
            return Err(E::custom("too deep"));
        }
        Ok(Strict {
            depth: self.depth + 1,
            problem: self.problem,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json hands numbers over as text (NUMBER_TOKEN); this is for other deserializers,
        // which never yield NaN or infinity: null is the honest fallback regardless.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // The first key comes before the depth check: a number arrives as a map too (see
        // NUMBER_TOKEN), and a number is no deeper than the container holding it.
        let mut next = map.next_key::<String>()?;
        if next.as_deref() == Some(NUMBER_TOKEN) {
            let text: String = map.next_value()?;
            return exact_number(&text).map_err(de::Error::custom);
        }
        let child = self.enter()?;
        let mut object = Map::new();
        while let Some(key) = next {
            if object.contains_key(&key) {
                self.problem.set(Some(Problem::DuplicateKey));
                let quoted = serde_json::to_string(&key).unwrap_or(key);
                return Err(de::Error::custom(format_args!("duplicate key {quoted}")));
            }
            let value = map.next_value_seed(child)?;
            object.insert(key, value);
            next = map.next_key()?;
        }
        Ok(Value::Object(object))
    }
}

/// A number from the text serde_json read, digits kept; checked again because an object that
/// merely uses [`NUMBER_TOKEN`] as a key could hold any string.
fn exact_number(text: &str) -> Result<Value, String> {
    text.parse::<Number>()
        .map(Value::Number)
        .map_err(|_| format!("{NUMBER_TOKEN:?} is reserved for numbers; `{text}` is not one"))
}
