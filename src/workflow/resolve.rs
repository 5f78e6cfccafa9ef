//! The second stage of loading: what the user typed (`def`) → resolved values (`model`).
//! `Ctx` carries what every check needs (file label, environment, known sequences, directory,
//! names in scope) so each resolver stays a small function returning the first error found.

use super::def::{ArgDef, OneOrMany};
use super::model::{Arg, Diagnostic, Expr, Pos, TriggerRead};
use super::names::{is_guarded, Scope, TRIGGER_NAMES};
use crate::domain::ids::WorkflowId;
use crate::engine::template::{Read, Renderer, TemplateError};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

/// Result of a resolver: the first problem stops the file.
pub type Resolved<T> = Result<T, Diagnostic>;

/// Everything a resolver needs to know about the file it works on.
pub struct Ctx<'a> {
    pub file: &'a str,
    /// The file's text, to place template positions on the characters written.
    pub text: &'a str,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub sequences: &'a BTreeSet<WorkflowId>,
    pub dir: &'a Path,
    pub scope: Scope,
    pub in_sequence: bool,
    /// The engine's renderer: templates are compiled and read by what will run them.
    pub renderer: &'a Renderer,
    /// `trigger` paths read so far, for the reference lint.
    pub reads: RefCell<Vec<TriggerRead>>,
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

    /// Checks what a template reads, as the engine compiled it from `source` written in
    /// `file`: an unknown name or field is an error; `trigger` paths are kept for the lint.
    /// `block` is where a block scalar's text starts (`body: |`): YAML strips its indentation,
    /// so columns on its later lines are shifted back to the file's.
    pub fn reads(
        &self,
        file: &str,
        source: &str,
        reads: Result<Vec<Read>, TemplateError>,
        block: Option<Pos>,
    ) -> Resolved<()> {
        let in_file = |pos: Pos| match block {
            Some(b) if pos.line > b.line => Pos {
                line: pos.line,
                column: pos.column + b.column - 1,
            },
            _ => pos,
        };
        let at = |pos: Pos, message: String| {
            let pos = in_file(pos);
            Diagnostic {
                file: file.to_string(),
                line: pos.line,
                column: pos.column,
                message,
            }
        };
        let reads = reads.map_err(|e| at(e.pos, e.message))?;
        if let Some((r, m)) = self.scope.first_problem(&reads, self.renderer) {
            return Err(at(r.pos, m));
        }
        let payload = reads.into_iter().filter(|r| {
            let root = r.path.split('.').next().unwrap_or("");
            TRIGGER_NAMES.contains(&root) && r.path.contains('.') && !is_guarded(source, &r.path)
        });
        self.reads.borrow_mut().extend(payload.map(|r| TriggerRead {
            file: file.to_string(),
            pos: r.pos,
            path: r.path,
        }));
        Ok(())
    }

    /// A condition (`if`, `filter`): an expression, so `{{ }}` is a slip worth naming.
    pub fn condition(&self, source: &Spanned<String>) -> Resolved<Expr> {
        let text = source.value.trim();
        if text.contains("{{") {
            let bare = text.replace("{{", "").replace("}}", "");
            return Err(self.err(
                &source.referenced,
                format!(
                    "conditions are expressions: drop the braces, write `{}`",
                    bare.trim()
                ),
            ));
        }
        let expr = Expr {
            source: source.value.clone(),
            pos: self.content_pos(pos(&source.referenced)),
        };
        self.reads(
            self.file,
            &expr.source,
            self.renderer.condition_reads(&expr),
            None,
        )?;
        Ok(expr)
    }

    /// Where a scalar's text starts: past an opening quote, or on the line after a `|` or `>`
    /// block indicator. Template errors, at load and at run time, then count from there.
    pub fn content_pos(&self, p: Pos) -> Pos {
        let mut lines = self.text.lines().skip((p.line as usize).saturating_sub(1));
        let Some(line) = lines.next() else { return p };
        match line.chars().nth((p.column as usize).saturating_sub(1)) {
            Some('"' | '\'') => Pos {
                line: p.line,
                column: p.column + 1,
            },
            Some('|' | '>') => match lines.enumerate().find(|(_, l)| !l.trim().is_empty()) {
                Some((i, l)) => Pos {
                    line: p.line + i as u32 + 1,
                    column: (l.len() - l.trim_start().len()) as u32 + 1,
                },
                None => p,
            },
            _ => p,
        }
    }

    /// A step argument: a string is a template; anything else a literal whose strings are
    /// templates too (they are rendered at run time), so they are checked here as well.
    pub fn arg_at(&self, value: &Value, p: Pos) -> Resolved<Arg> {
        let start = match value {
            Value::String(_) => self.content_pos(p),
            _ => p,
        };
        // A multi-line text that is not quoted is a block scalar (`body: |`): its later lines
        // lost their indentation in YAML.
        let quoted = start.line == p.line && start.column != p.column;
        let block = match value {
            Value::String(s) if s.contains('\n') && !quoted => Some(start),
            _ => None,
        };
        let p = start;
        let arg = match value {
            Value::String(s) => Arg::Template {
                source: s.clone(),
                pos: p,
            },
            other => Arg::Literal {
                value: other.clone(),
                pos: p,
            },
        };
        let source = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.reads(self.file, &source, self.renderer.arg_reads(&arg), block)?;
        Ok(arg)
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
