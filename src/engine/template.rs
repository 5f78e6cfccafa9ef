//! Step arguments, conditions and email texts, rendered with minijinja in strict mode.
//!
//! Workflow authors write `{{ email }}` and expect the value, not its text: an argument that is
//! exactly one `{{ expr }}` keeps the expression's type (null stays null, an object stays an
//! object). Longer text renders to a string where null prints as nothing. Using an undefined
//! name or key is an error that names the culprit and what exists instead, never a silent empty
//! string: a silently empty email address is worse than a failed step.
//!
//! Templates are compiled once per distinct source and kept in one shared minijinja
//! environment; [`Renderer`] is `Send + Sync` and meant to sit in an `Arc`.

mod cache;
mod error;
mod json;
#[cfg(test)]
mod tests;
mod tojson;

pub use error::TemplateError;

use crate::workflow::model::{Arg, Expr, Pos};
use cache::{wrapper_len, Job, Mode, Templates};
use error::Site;
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

/// The names a template can read and their values.
#[derive(Debug, Clone)]
pub struct Context {
    /// Always an object. Shared with `root`, which points into it instead of copying it.
    vars: Arc<Value>,
    /// `vars` as templates see them, made at the first render: making it walks every value, so
    /// once per step rather than once per template.
    root: OnceLock<minijinja::Value>,
}

impl Default for Context {
    fn default() -> Self {
        Context::from(Map::new())
    }
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.vars == other.vars
    }
}

impl From<Map<String, Value>> for Context {
    fn from(vars: Map<String, Value>) -> Self {
        Context {
            vars: Arc::new(Value::Object(vars)),
            root: OnceLock::new(),
        }
    }
}

impl Context {
    /// The names every template of a run sees: `trigger` (also as `inboundWebhookRequest`),
    /// `request`, `workflow` and `now`. Add `contact` and the mapping names with [`Self::with`].
    pub fn new(trigger: Value, request: Value, workflow: Value, now: impl Into<String>) -> Context {
        Context::default()
            .with("inboundWebhookRequest", trigger.clone())
            .with("trigger", trigger)
            .with("request", request)
            .with("workflow", workflow)
            .with("now", Value::String(now.into()))
    }

    /// Adds or replaces one name.
    pub fn with(mut self, name: impl Into<String>, value: Value) -> Context {
        self.set(name, value);
        self
    }

    /// Adds or replaces one name in place (e.g. `contact` after `find_contact`).
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        // Dropped first, so the variables are copied only if a rendered value still shares them.
        self.root = OnceLock::new();
        if let Value::Object(vars) = Arc::make_mut(&mut self.vars) {
            vars.insert(name.into(), value);
        }
    }

    /// The names and their values.
    pub fn vars(&self) -> &Map<String, Value> {
        match &*self.vars {
            Value::Object(vars) => vars,
            _ => unreachable!("a context's variables are an object"),
        }
    }

    fn root(&self) -> &minijinja::Value {
        self.root.get_or_init(|| json::context_value(&self.vars))
    }
}

/// A dotted path a template reads (`contact.first_name`, `trigger.appointment.start`) and where
/// it is written, for load-time checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// Dotted, as minijinja tracks it: attribute chains only (`a['b']` stops at `a`).
    pub path: String,
    /// Where the path is first written.
    pub pos: Pos,
}

/// Renders templates against a [`Context`]; compiles each distinct source once.
pub struct Renderer {
    templates: Templates,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer with strict undefined handling and hookflow's functions (`has_tag`).
    pub fn new() -> Renderer {
        Renderer {
            templates: Templates::new(),
        }
    }

    /// Evaluates a step argument: `{{ expr }}` alone keeps its type, other text is a string,
    /// literals keep their shape with every string inside rendered by the same rules.
    pub fn render_arg(&self, arg: &Arg, ctx: &Context) -> Result<Value, TemplateError> {
        self.render_arg_with(arg, || ctx)
    }

    /// [`Self::render_arg`] with the context asked for only when the argument has template
    /// syntax: a step that renders only plain text (`add_tag: Booked`) never makes one.
    pub fn render_arg_with<'c>(
        &self,
        arg: &Arg,
        ctx: impl Fn() -> &'c Context,
    ) -> Result<Value, TemplateError> {
        match arg {
            Arg::Template { source, pos } => self.render_value_with(source, *pos, &ctx),
            Arg::Literal { value, pos } => {
                map_strings(value, &mut |s| self.render_value_with(s, *pos, &ctx))
            }
        }
    }

    /// Evaluates one template string, written at `pos`, by the rules of [`Self::render_arg`].
    pub fn render_value(
        &self,
        source: &str,
        pos: Pos,
        ctx: &Context,
    ) -> Result<Value, TemplateError> {
        self.render_value_with(source, pos, &|| ctx)
    }

    fn render_value_with<'c>(
        &self,
        source: &str,
        pos: Pos,
        ctx: &impl Fn() -> &'c Context,
    ) -> Result<Value, TemplateError> {
        let Some(job) = value_job(source, pos) else {
            return Ok(Value::String(source.to_owned()));
        };
        let ctx = ctx();
        let (out, value) = self.templates.run(&job, ctx.root(), ctx.vars())?;
        let Some((value, exact)) = value else {
            return Ok(Value::String(out));
        };
        json::to_json(&value, &exact).map_err(|kind| TemplateError {
            message: format!(
                "`{}` gives a {kind} value, which has no JSON form",
                source.trim()
            ),
            pos,
        })
    }

    /// Evaluates a condition (minijinja expression syntax) and takes its truthiness.
    pub fn eval_condition(&self, expr: &Expr, ctx: &Context) -> Result<bool, TemplateError> {
        let (_, value) = self
            .templates
            .run(&condition_job(expr), ctx.root(), ctx.vars())?;
        Ok(value.is_some_and(|(v, _)| v.is_true()))
    }

    /// Renders a whole text (email subject, body or template file) to a string; `html_escape`
    /// escapes every printed value for HTML. Error positions are within `source`.
    pub fn render_text(
        &self,
        source: &str,
        ctx: &Context,
        html_escape: bool,
    ) -> Result<String, TemplateError> {
        if !has_tags(source) {
            return Ok(source.to_owned());
        }
        let job = text_job(source, Pos::default(), html_escape);
        self.templates
            .run(&job, ctx.root(), ctx.vars())
            .map(|(out, _)| out)
    }

    /// Load-time check of an argument: syntax, and every top-level name it reads is in `known`
    /// or is a function. What only a payload can tell (missing keys) is left to run time.
    pub fn check_arg(&self, arg: &Arg, known: &[&str]) -> Result<(), TemplateError> {
        let check = |s: &str, pos| match value_job(s, pos) {
            Some(job) => self
                .templates
                .check_names(&job, known)
                .map(|()| Value::Null),
            None => Ok(Value::Null),
        };
        match arg {
            Arg::Template { source, pos } => check(source, *pos),
            Arg::Literal { value, pos } => map_strings(value, &mut |s| check(s, *pos)),
        }
        .map(drop)
    }

    /// Load-time view of a step argument: compiled by the very environment that renders it (so
    /// a syntax error is the one a run would hit) and every dotted path it reads, functions
    /// included (see [`Self::is_function`]).
    pub fn arg_reads(&self, arg: &Arg) -> Result<Vec<Read>, TemplateError> {
        let mut out = Vec::new();
        let mut read = |s: &str, pos| {
            if let Some(job) = value_job(s, pos) {
                out.extend(self.templates.reads(&job)?);
            }
            Ok(Value::Null)
        };
        match arg {
            Arg::Template { source, pos } => read(source, *pos),
            Arg::Literal { value, pos } => map_strings(value, &mut |s| read(s, *pos)),
        }?;
        Ok(out)
    }

    /// Load-time view of a condition, like [`Self::arg_reads`].
    pub fn condition_reads(&self, expr: &Expr) -> Result<Vec<Read>, TemplateError> {
        self.templates.reads(&condition_job(expr))
    }

    /// Load-time view of a whole text (an email body or template file), like
    /// [`Self::arg_reads`]; `pos` is where the text starts (`Pos::default()`: in the text).
    pub fn text_reads(&self, source: &str, pos: Pos) -> Result<Vec<Read>, TemplateError> {
        match has_tags(source) {
            true => self.templates.reads(&text_job(source, pos, false)),
            false => Ok(Vec::new()),
        }
    }

    /// True for a name every template has without a context: a function (`has_tag`, `range`).
    pub fn is_function(&self, name: &str) -> bool {
        self.templates.is_global(name)
    }

    /// Load-time check of a condition, like [`Self::check_arg`].
    pub fn check_condition(&self, expr: &Expr, known: &[&str]) -> Result<(), TemplateError> {
        self.templates.check_names(&condition_job(expr), known)
    }

    /// Load-time check of a whole text (e.g. an email template file), like [`Self::check_arg`];
    /// `pos` is where the text starts (`Pos::default()` = positions within the text).
    pub fn check_text(&self, source: &str, pos: Pos, known: &[&str]) -> Result<(), TemplateError> {
        self.templates
            .check_names(&text_job(source, pos, false), known)
    }
}

/// The job for one argument string; `None` for plain text, which is used as written.
fn value_job(source: &str, pos: Pos) -> Option<Job<'_>> {
    if !has_tags(source) {
        return None;
    }
    Some(match single_expression(source) {
        Some((offset, text)) => expr_job(source, offset, text, pos),
        None => text_job(source, pos, false),
    })
}

fn condition_job(expr: &Expr) -> Job<'_> {
    expr_job(&expr.source, 0, &expr.source, expr.pos)
}

fn expr_job<'a>(source: &'a str, offset: usize, text: &'a str, pos: Pos) -> Job<'a> {
    let wrapper = wrapper_len(Mode::Expr);
    let site = Site {
        source,
        pos,
        offset,
        wrapper,
    };
    Job {
        mode: Mode::Expr,
        text,
        site,
    }
}

fn text_job(source: &str, pos: Pos, html: bool) -> Job<'_> {
    let site = Site {
        source,
        pos,
        offset: 0,
        wrapper: 0,
    };
    let mode = if html { Mode::Html } else { Mode::Text };
    Job {
        mode,
        text: source,
        site,
    }
}

/// Rebuilds `value` with `f` applied to every string in it; keys and other values are kept.
fn map_strings<F>(value: &Value, f: &mut F) -> Result<Value, TemplateError>
where
    F: FnMut(&str) -> Result<Value, TemplateError>,
{
    Ok(match value {
        Value::String(s) => f(s)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| map_strings(v, f))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), map_strings(v, f)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// True when `source` holds any minijinja syntax; plain text is used as written.
fn has_tags(source: &str) -> bool {
    ["{{", "{%", "{#"].iter().any(|t| source.contains(t))
}

/// `Some((offset, expr))` when `source` is one `{{ expr }}` with only whitespace around it.
fn single_expression(source: &str) -> Option<(usize, &str)> {
    let lead = source.len() - source.trim_start().len();
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let (inner, dash) = match inner.strip_prefix('-') {
        Some(rest) => (rest, 1),
        None => (inner, 0),
    };
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let nested = ["{{", "}}", "{%", "%}", "{#", "#}"]
        .iter()
        .any(|t| inner.contains(t));
    (!nested && !inner.trim().is_empty()).then_some((lead + 2 + dash, inner))
}
