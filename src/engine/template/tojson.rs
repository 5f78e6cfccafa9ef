//! `tojson` that writes the payload's numbers as they were sent. minijinja's own filter prints
//! the floats standing in for decimals (`12.5` for `12.50`); this one converts to JSON first
//! (see `json::to_json`) and keeps minijinja's layout and its HTML-safe escaping.

use super::json::{self, ExactNumbers};
use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Error, ErrorKind, State};
use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter, Serializer};
use std::io;

/// `{{ value | tojson }}`, `tojson(2)`, `tojson(indent=true)`: as minijinja's filter.
pub(super) fn tojson(
    state: &State,
    value: &MjValue,
    indent: Option<MjValue>,
    args: Kwargs,
) -> Result<MjValue, Error> {
    let indent = match indent {
        Some(indent) => Some(indent),
        None => args.get("indent")?,
    };
    let indent = match indent {
        None => None,
        Some(val) => match bool::try_from(val.clone()).ok() {
            Some(true) => Some(2),
            Some(false) => None,
            None => Some(usize::try_from(val)?),
        },
    };
    args.assert_all_used()?;
    let json = json::to_json(value, &ExactNumbers::of(state)).map_err(|kind| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot serialize a {kind} value to JSON"),
        )
    })?;
    let mut out = Vec::new();
    let written = match indent {
        Some(n) => {
            let spaces = " ".repeat(n);
            let pretty = PrettyFormatter::with_indent(spaces.as_bytes());
            json.serialize(&mut Serializer::with_formatter(&mut out, pretty))
        }
        None => json.serialize(&mut Serializer::with_formatter(&mut out, Spaced)),
    };
    written.map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let text = String::from_utf8(out).expect("serde_json writes UTF-8");
    Ok(MjValue::from_safe_string(html_safe(&text)))
}

/// Escapes what could end a script tag or an attribute; in JSON text these characters can only
/// occur inside strings, where the `\u` forms mean the same.
fn html_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            c => out.push(c),
        }
    }
    out
}

/// minijinja's one-line layout: a space after `,` and `:` (`{"a": 1, "b": [1, 2]}`).
struct Spaced;

impl Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        comma(w, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        comma(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// `, ` before every array value and object key but the first.
fn comma<W: ?Sized + io::Write>(w: &mut W, first: bool) -> io::Result<()> {
    match first {
        true => Ok(()),
        false => w.write_all(b", "),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::template::{Context, Renderer};
    use serde_json::Value;

    fn render(source: &str) -> String {
        let payload: Value = serde_json::from_str(
            r#"{"id": 123456789012345678901234567890, "total": 12.50, "tag": "<b>"}"#,
        )
        .unwrap();
        let ctx = Context::default().with("trigger", payload);
        Renderer::new().render_text(source, &ctx, false).unwrap()
    }

    #[test]
    fn tojson_writes_the_numbers_as_sent_in_minijinjas_layout() {
        assert_eq!(
            render("{{ trigger | tojson }}"),
            r#"{"id": 123456789012345678901234567890, "total": 12.50, "tag": "\u003cb\u003e"}"#
        );
        assert_eq!(
            render("{{ [trigger.total, 1.5] | tojson }}"),
            "[12.50, 1.5]"
        );
        assert_eq!(
            render("{{ {'t': trigger.total} | tojson(indent=2) }}"),
            "{\n  \"t\": 12.50\n}"
        );
    }

    #[test]
    fn printed_numbers_keep_their_text_and_computed_ones_do_not() {
        assert_eq!(
            render("{{ trigger.id }} {{ trigger.total }} {{ trigger.total * 2 }}"),
            "123456789012345678901234567890 12.50 25.0"
        );
        assert_eq!(
            render("{% if trigger.total > 12.4 %}more{% endif %}"),
            "more"
        );
        assert_eq!(
            render("{% if trigger.id == 123456789012345678901234567890 %}same{% endif %}"),
            "same"
        );
    }
}
