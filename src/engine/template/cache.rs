//! The shared minijinja environment: hookflow's settings and functions, and every template
//! compiled so far, keyed by mode and source so each distinct source is compiled once.

use super::error::{describe, Failure, Site};
use super::json::ExactNumbers;
use super::{Read, TemplateError};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value as MjValue;
use minijinja::{AutoEscape, Environment, ErrorKind, State, Template, UndefinedBehavior};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

/// The variable an expression's value is captured in.
const RESULT: &str = "__hookflow_value";
/// Wraps an expression so that a (cached) template can hand back its value, not its text.
const EXPR_PREFIX: &str = "{% set __hookflow_value = (";
const EXPR_SUFFIX: &str = ") %}";

/// An expression's value, with the texts of its context's numbers to turn it back into JSON.
pub(super) type ExprValue = (MjValue, Arc<ExactNumbers>);

/// How a source is compiled; part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Text,
    Html,
    /// One expression whose value is captured.
    Expr,
}

/// One source to compile and run, and how its errors map back to what the author wrote.
pub(super) struct Job<'a> {
    pub mode: Mode,
    /// The expression (Expr mode) or the whole template text.
    pub text: &'a str,
    pub site: Site<'a>,
}

impl Job<'_> {
    fn key(&self) -> String {
        let tag = match self.mode {
            Mode::Text => "text:",
            Mode::Html => "html:",
            Mode::Expr => "expr:",
        };
        format!("{tag}{}", self.text)
    }

    fn body(&self) -> String {
        match self.mode {
            Mode::Expr => format!("{EXPR_PREFIX}{}{EXPR_SUFFIX}", self.text),
            Mode::Text | Mode::Html => self.text.to_owned(),
        }
    }
}

/// Compiled templates in one strict environment; safe to share between threads.
pub(super) struct Templates {
    env: RwLock<Environment<'static>>,
    /// Names defined in every template (functions), so never "undefined".
    globals: HashSet<String>,
}

impl Templates {
    /// A strict environment with hookflow's formatter, escaping rules and functions.
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Spans in errors are what lets a message point at the failing `{{ … }}`.
        env.set_debug(true);
        // Escaping follows the caller's choice, never a file extension found in the source.
        env.set_auto_escape_callback(|key| match key.starts_with("html:") {
            true => AutoEscape::Html,
            false => AutoEscape::None,
        });
        // Text must come out unchanged around its tags, final newline included.
        let syntax = SyntaxConfig::builder().keep_trailing_newline(true).build();
        env.set_syntax(syntax.expect("the default delimiters are valid"));
        // Inside text, null prints as nothing (GHL shows an empty merge field, not "none"), and
        // a number of the payload prints as sent (`12.50`, not `12.5`).
        env.set_formatter(|out, state, value| {
            if value.is_none() {
                return Ok(());
            }
            if value.is_number() && !value.is_integer() {
                if let Some(text) = ExactNumbers::of(state).text(value) {
                    return Ok(out.write_str(text)?);
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        env.add_function("has_tag", has_tag);
        env.add_filter("tojson", super::tojson::tojson);
        let globals = env.globals().map(|(name, _)| name.to_owned()).collect();
        Templates {
            env: RwLock::new(env),
            globals,
        }
    }

    /// Compiles `job` unless it already is; a syntax error says where.
    pub fn compile(&self, job: &Job) -> Result<(), TemplateError> {
        let key = job.key();
        let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
        if env.get_template(&key).is_ok() {
            return Ok(());
        }
        drop(env);
        self.add(job, key)
    }

    /// Compiles `job` under `key` (its [`Job::key`]), which was not found compiled.
    fn add(&self, job: &Job, key: String) -> Result<(), TemplateError> {
        let mut env = self.env.write().unwrap_or_else(PoisonError::into_inner);
        let Err(e) = env.add_template_owned(key, job.body()) else {
            return Ok(());
        };
        // The wrapper's `)` would be blamed for an unfinished expression; ask the expression
        // parser instead, whose positions are the author's own.
        let e = match job.mode {
            Mode::Expr => match env.compile_expression_owned(job.text.to_owned()) {
                Err(direct) => {
                    return Err(self.failure(&env, direct, job, unwrapped(job), &Map::new()))
                }
                Ok(_) => e,
            },
            _ => e,
        };
        Err(self.failure(&env, e, job, None, &Map::new()))
    }

    /// Renders `job` against `root` (`vars` as [`super::json::context_value`] made it; `vars` name
    /// what is missing in errors): the output, and for an expression its value.
    pub fn run(
        &self,
        job: &Job,
        root: &MjValue,
        vars: &Map<String, Value>,
    ) -> Result<(String, Option<ExprValue>), TemplateError> {
        // The key is the whole source (an email's template is kilobytes): made and looked up
        // once a render while the template is compiled, which it is for every render but the
        // first.
        let key = job.key();
        {
            let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
            if let Ok(tmpl) = env.get_template(&key) {
                return self.render(&env, tmpl, job, root, vars);
            }
        }
        self.add(job, key.clone())?;
        let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
        let tmpl = env
            .get_template(&key)
            .map_err(|e| self.failure(&env, e, job, None, vars))?;
        self.render(&env, tmpl, job, root, vars)
    }

    /// Runs the compiled `tmpl` of `job` (see [`Self::run`]).
    fn render(
        &self,
        env: &Environment<'static>,
        tmpl: Template<'_, '_>,
        job: &Job,
        root: &MjValue,
        vars: &Map<String, Value>,
    ) -> Result<(String, Option<ExprValue>), TemplateError> {
        let captured = tmpl
            .render_captured(root.clone())
            .map_err(|e| self.failure(env, e, job, None, vars))?;
        let value = match job.mode {
            Mode::Expr => match captured.state().lookup(RESULT) {
                // `set` stores an undefined value without complaint; strictness is ours.
                Some(v) if !v.is_undefined() => Some((v, ExactNumbers::of(captured.state()))),
                _ => return Err(self.undefined(job, vars, Self::paths(env, job, true))),
            },
            Mode::Text | Mode::Html => None,
        };
        Ok((captured.into_output(), value))
    }

    /// The first top-level name `job` reads that is neither in `known` nor a function.
    pub fn check_names(&self, job: &Job, known: &[&str]) -> Result<(), TemplateError> {
        self.compile(job)?;
        let vars: Map<String, Value> = known.iter().map(|k| (k.to_string(), Value::Null)).collect();
        let names = {
            let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
            Self::paths(&env, job, false)
        };
        match names
            .iter()
            .any(|n| !vars.contains_key(n) && !self.globals.contains(n))
        {
            true => Err(self.undefined(job, &vars, names)),
            false => Ok(()),
        }
    }

    /// The dotted paths (`contact.first_name`) the compiled `job` reads without defining them,
    /// each with where it is written, in source order. Compiles first, so a syntax error is the
    /// one a render would report.
    pub fn reads(&self, job: &Job) -> Result<Vec<Read>, TemplateError> {
        self.compile(job)?;
        let paths = {
            let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
            Self::paths(&env, job, true)
        };
        let mut out: Vec<Read> = paths
            .into_iter()
            .map(|path| Read {
                pos: job.site.locate(&path),
                path,
            })
            .collect();
        out.sort_by(|a, b| {
            (a.pos.line, a.pos.column, &a.path).cmp(&(b.pos.line, b.pos.column, &b.path))
        });
        Ok(out)
    }

    /// True for a name every template has (a function such as `has_tag` or `range`).
    pub fn is_global(&self, name: &str) -> bool {
        self.globals.contains(name)
    }

    /// How many templates are compiled; tests use it to see the cache at work.
    #[cfg(test)]
    pub fn compiled_count(&self) -> usize {
        let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
        env.templates().count()
    }

    /// Names (`nested`: and dotted paths) the compiled `job` reads without defining them.
    /// Takes the environment the caller already holds: locking it again here would deadlock
    /// against a waiting writer (std's RwLock is not re-entrant).
    fn paths(env: &Environment<'static>, job: &Job, nested: bool) -> HashSet<String> {
        env.get_template(&job.key())
            .map(|t| t.undeclared_variables(nested))
            .unwrap_or_default()
    }

    /// The error for an undefined value among `paths` (names and dotted paths `job` reads).
    fn undefined(
        &self,
        job: &Job,
        vars: &Map<String, Value>,
        paths: HashSet<String>,
    ) -> TemplateError {
        let failure = Failure {
            kind: ErrorKind::UndefinedError,
            detail: None,
            range: None,
            line: None,
            paths,
            vars,
            globals: &self.globals,
        };
        describe(&job.site, &failure)
    }

    /// Describes `e`; `site` overrides the job's own when the error is about other text.
    fn failure(
        &self,
        env: &Environment<'static>,
        e: minijinja::Error,
        job: &Job,
        site: Option<Site>,
        vars: &Map<String, Value>,
    ) -> TemplateError {
        let undefined = e.kind() == ErrorKind::UndefinedError;
        let failure = Failure {
            kind: e.kind(),
            detail: e.detail().map(str::to_owned),
            range: e.range(),
            line: e.line(),
            paths: if undefined {
                Self::paths(env, job, true)
            } else {
                HashSet::new()
            },
            vars,
            globals: &self.globals,
        };
        describe(site.as_ref().unwrap_or(&job.site), &failure)
    }
}

/// The job's site as seen by a parser given the bare expression (no wrapper before it).
fn unwrapped<'a>(job: &Job<'a>) -> Option<Site<'a>> {
    Some(Site {
        wrapper: 0,
        ..job.site
    })
}

/// The bytes the expression wrapper puts before the author's text.
pub(super) const fn wrapper_len(mode: Mode) -> usize {
    match mode {
        Mode::Expr => EXPR_PREFIX.len(),
        Mode::Text | Mode::Html => 0,
    }
}

/// `has_tag('x')`: does the contact carry tag `x`, compared case-insensitively as GHL does.
fn has_tag(state: &State, tag: &str) -> Result<bool, minijinja::Error> {
    let Some(contact) = state.lookup("contact") else {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "has_tag() needs `contact`, which does not exist here (a trigger filter runs before \
             any find_contact)",
        ));
    };
    if contact.is_none() || contact.is_undefined() {
        return Ok(false);
    }
    let tags = contact.get_attr("tags")?;
    if tags.is_none() || tags.is_undefined() {
        return Ok(false);
    }
    let wanted = tag.trim().to_lowercase();
    let found = tags.try_iter()?.any(|t| {
        t.as_str()
            .is_some_and(|s| s.trim().to_lowercase() == wanted)
    });
    Ok(found)
}
