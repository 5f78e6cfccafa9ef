//! Template errors written for the marketer who edits the YAML, not for the engine's authors.
//!
//! minijinja says "undefined value"; the author needs to know *which* name, where, and what the
//! names they could have meant are. This module turns a minijinja error (plus the template's
//! referenced names and the context) into such a message.

use crate::workflow::model::Pos;
use minijinja::ErrorKind;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A template that failed to compile or render, with a message that says what, where and how to
/// fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    /// In the workflow file when the caller knew where the template was written, else in the
    /// template itself (1-based).
    pub pos: Pos,
}

/// What the author wrote and where, and how the compiled text maps back to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Site<'a> {
    /// The text as written (the whole argument, condition or template file).
    pub source: &'a str,
    /// Where `source` starts in its file; line 0 = unknown, report template coordinates.
    pub pos: Pos,
    /// Byte offset in `source` where the compiled text's `user_start`-th byte comes from.
    pub offset: usize,
    /// Bytes of wrapper text the compiled template puts before the author's text.
    pub wrapper: usize,
}

/// Everything known when a template failed, for building its message.
pub(super) struct Failure<'a> {
    pub kind: ErrorKind,
    pub detail: Option<String>,
    /// Byte range in the compiled text, when minijinja knew it.
    pub range: Option<std::ops::Range<usize>>,
    /// Line in the compiled text, when minijinja knew it.
    pub line: Option<usize>,
    /// Names and dotted paths the template reads (`contact.first_name`).
    pub paths: HashSet<String>,
    pub vars: &'a Map<String, Value>,
    /// Functions and other names every template has (`has_tag`, `range`, …).
    pub globals: &'a HashSet<String>,
}

impl Site<'_> {
    /// Maps a byte offset of the compiled text back into `source`.
    fn to_source(self, compiled: usize) -> usize {
        let at = (compiled + self.offset).saturating_sub(self.wrapper);
        floor_char_boundary(self.source, at.min(self.source.len()))
    }

    /// File position of a byte offset in `source`.
    fn pos_of(&self, at: usize) -> Pos {
        let before = &self.source[..at];
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() as u32 + 1;
        match (self.pos.line, line) {
            (0, _) => Pos { line, column },
            (l, 1) => Pos {
                line: l,
                column: self.pos.column + column - 1,
            },
            (l, _) => Pos {
                line: l + line - 1,
                column,
            },
        }
    }

    /// Where `needle` is first written in the source (its start when it is not there verbatim).
    pub(super) fn locate(&self, needle: &str) -> Pos {
        self.pos_of(self.source.find(needle).unwrap_or(0))
    }

    /// The `{{ … }}` or `{% … %}` around `at`, or the whole source when it has no tags.
    fn snippet(&self, at: usize) -> String {
        let s = self.source;
        let open = ["{{", "{%"].iter().filter_map(|t| s[..at].rfind(t)).max();
        let text = match open {
            Some(start) => {
                let close = ["}}", "%}"]
                    .iter()
                    .filter_map(|t| s[at..].find(t).map(|i| at + i + 2))
                    .min()
                    .unwrap_or(s.len());
                &s[start..close]
            }
            None => s.trim(),
        };
        shorten(text.trim())
    }
}

/// Builds the author-facing error for a failure at `site`.
pub(super) fn describe(site: &Site, f: &Failure) -> TemplateError {
    let at = match (&f.range, f.line) {
        (Some(r), _) => site.to_source(r.start),
        (None, Some(line)) => line_start(site.source, line),
        (None, None) => first_path_offset(site.source, &f.paths).unwrap_or(0),
    };
    let span = f.range.as_ref().map(|r| {
        let (a, b) = (site.to_source(r.start), site.to_source(r.end));
        &site.source[a..b.max(a)]
    });
    let (message, at) = match f.kind {
        ErrorKind::UndefinedError => undefined_message(site, f, span, at),
        ErrorKind::SyntaxError => (
            format!("template syntax error {{where}}: {}", detail(f)),
            at,
        ),
        kind => (format!("{kind} {{where}}: {}", detail(f)), at),
    };
    let pos = site.pos_of(at);
    let place = format!(
        "in `{}` (line {}, column {})",
        site.snippet(at),
        pos.line,
        pos.column
    );
    let message = message.replacen("{where}", &place, 1);
    TemplateError { message, pos }
}

fn detail(f: &Failure) -> String {
    f.detail.clone().unwrap_or_else(|| "no details".into())
}

/// The message for an undefined value, and the offset in the source it is about.
fn undefined_message(site: &Site, f: &Failure, span: Option<&str>, at: usize) -> (String, usize) {
    let mut paths: Vec<&String> = f.paths.iter().collect();
    // Source order, so the first problem the author reads is the first one in the text.
    paths.sort_by_key(|p| {
        (
            site.source.find(p.as_str()).unwrap_or(usize::MAX),
            p.as_str(),
        )
    });
    let problems: Vec<(&String, String)> = paths
        .into_iter()
        .filter_map(|p| problem(p, f).map(|m| (p, m)))
        .collect();
    let chosen = problems
        .iter()
        .find(|(p, _)| span.is_some_and(|s| s.contains(p.as_str())))
        .or(problems.first());
    match chosen {
        Some((path, msg)) => {
            let in_span = span.is_some_and(|s| s.contains(path.as_str()));
            let at = if in_span {
                at
            } else {
                nearest(site.source, path, at)
            };
            (msg.clone(), at)
        }
        None => (
            "undefined value {where}; use `is defined` or `| default(…)` where a value may be \
             missing"
                .into(),
            at,
        ),
    }
}

/// Why `path` (`name` or `name.key.key`) has no value in the context, or `None` when it has one.
fn problem(path: &str, f: &Failure) -> Option<String> {
    let mut segs = path.split('.');
    let root = segs.next()?;
    let Some(mut value) = f.vars.get(root) else {
        if f.globals.contains(root) {
            return None;
        }
        let mut known: Vec<&str> = f.vars.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Some(format!(
            "undefined name `{root}` {{where}}; known names: {}",
            known.join(", ")
        ));
    };
    let mut walked = root.to_owned();
    for seg in segs {
        let next = match value {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            return Some(format!(
                "undefined `{walked}.{seg}` {{where}}: {}; use `| default(…)` if it may be \
                 missing",
                why_missing(&walked, value, seg)
            ));
        };
        walked = format!("{walked}.{seg}");
        value = next;
    }
    None
}

fn why_missing(walked: &str, value: &Value, seg: &str) -> String {
    match value {
        Value::Null if walked == "contact" => {
            "`contact` is null (no contact was found); test it first with `{% if contact %}`".into()
        }
        Value::Null => format!("`{walked}` is null"),
        Value::Object(m) if m.is_empty() => format!("`{walked}` is an empty object"),
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).collect();
            format!(
                "`{walked}` has no key `{seg}`; its keys: {}",
                shorten(&keys.join(", "))
            )
        }
        Value::Array(a) => format!("`{walked}` is a list of {} items", a.len()),
        Value::String(_) => format!("`{walked}` is a string, not an object"),
        Value::Number(_) => format!("`{walked}` is a number, not an object"),
        Value::Bool(_) => format!("`{walked}` is a boolean, not an object"),
    }
}

/// The occurrence of `needle` in `source` closest to `at` (or `at` when there is none).
fn nearest(source: &str, needle: &str, at: usize) -> usize {
    source
        .match_indices(needle)
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(at))
        .unwrap_or(at)
}

fn first_path_offset(source: &str, paths: &HashSet<String>) -> Option<usize> {
    paths.iter().filter_map(|p| source.find(p.as_str())).min()
}

fn line_start(source: &str, line: usize) -> usize {
    source
        .match_indices('\n')
        .nth(line.saturating_sub(2))
        .filter(|_| line > 1)
        .map_or(0, |(i, _)| i + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Long snippets and key lists are cut: the message must fit on a line of `hookflow check`.
fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
