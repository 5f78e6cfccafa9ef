//! The second stage of loading: what the user typed (`def`) → resolved values (`model`).
//! `Ctx` carries what every check needs (file label, environment, known sequences, directory,
//! names in scope) so each resolver stays a small function returning the first error found.

use super::def::{ArgDef, OneOrMany};
use super::model::{Arg, Diagnostic, Pos};
use super::names::{check_template, Scope};
use crate::domain::ids::WorkflowId;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use std::collections::BTreeSet;
use std::path::Path;

/// Result of a resolver: the first problem stops the file.
pub type Resolved<T> = Result<T, Diagnostic>;

/// Everything a resolver needs to know about the file it works on.
pub struct Ctx<'a> {
    pub file: &'a str,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub sequences: &'a BTreeSet<WorkflowId>,
    pub dir: &'a Path,
    pub scope: Scope,
    pub in_sequence: bool,
}

/// serde-saphyr's 1-based location as a model position.
pub fn pos(l: &Location) -> Pos {
    Pos {
        line: l.line() as u32,
        column: l.column() as u32,
    }
}

impl Ctx<'_> {
    /// A diagnostic of this file at `p`.
    pub fn at(&self, p: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.to_string(),
            line: p.line,
            column: p.column,
            message: message.into(),
        }
    }

    /// A diagnostic at a serde-saphyr location.
    pub fn err(&self, l: &Location, message: impl Into<String>) -> Diagnostic {
        self.at(pos(l), message)
    }

    /// Checks a template at `p`.
    pub fn template(&self, source: &str, p: Pos) -> Resolved<()> {
        check_template(source, &self.scope).map_err(|m| self.at(p, m))
    }

    /// A step argument: a string is a template; anything else a literal whose strings are
    /// templates too (they are rendered at run time), so they are checked here as well.
    pub fn arg_at(&self, value: &Value, p: Pos) -> Resolved<Arg> {
        match value {
            Value::String(s) => {
                self.template(s, p)?;
                Ok(Arg::Template {
                    source: s.clone(),
                    pos: p,
                })
            }
            other => {
                self.literal_strings(other, p)?;
                Ok(Arg::Literal {
                    value: other.clone(),
                    pos: p,
                })
            }
        }
    }

    /// A spanned step argument.
    pub fn arg(&self, def: &ArgDef) -> Resolved<Arg> {
        self.arg_at(&def.value, pos(&def.referenced))
    }

    /// An optional spanned step argument.
    pub fn opt_arg(&self, def: &Option<ArgDef>) -> Resolved<Option<Arg>> {
        def.as_ref().map(|d| self.arg(d)).transpose()
    }

    /// One value or a list of them; a lone value takes the position of the whole node.
    pub fn args(&self, def: &Spanned<OneOrMany>) -> Resolved<Vec<Arg>> {
        match &def.value {
            OneOrMany::One(v) => Ok(vec![self.arg_at(v, pos(&def.referenced))?]),
            OneOrMany::Many(items) => items.iter().map(|i| self.arg(i)).collect(),
        }
    }

    fn literal_strings(&self, value: &Value, p: Pos) -> Resolved<()> {
        match value {
            Value::String(s) => self.template(s, p),
            Value::Array(items) => items.iter().try_for_each(|v| self.literal_strings(v, p)),
            Value::Object(map) => map.values().try_for_each(|v| self.literal_strings(v, p)),
            _ => Ok(()),
        }
    }

    /// Expands `${VAR}` references from the environment; an unset variable is an error naming it.
    pub fn expand_env(&self, text: &str, l: &Location, what: &str) -> Resolved<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(self.err(l, format!("unclosed `${{` in {what}: write `${{NAME}}`")));
            };
            let name = &after[..end];
            let value = (self.env)(name).ok_or_else(|| {
                self.err(
                    l,
                    format!(
                        "environment variable `{name}` (used in {what} at line {}) is not set; \
                         export it before starting hookflow",
                        l.line()
                    ),
                )
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
