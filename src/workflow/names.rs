//! Load-time checks of templates and conditions: minijinja syntax, and strict names. A template
//! may only use the names its context will hold at run time, so a typo (`emial`) is reported by
//! `hookflow check` instead of rendering as an empty string in a patient's email.

use minijinja::Environment;
use std::collections::BTreeSet;

/// The names a template or condition may use in one context.
#[derive(Debug, Clone)]
pub struct Scope {
    names: BTreeSet<String>,
    /// Where the names come from, for the error message ("in filter", "in a sequence").
    what: &'static str,
}

/// Names every workflow template sees at run time, besides the mapping names.
pub const WORKFLOW_NAMES: [&str; 6] = [
    "trigger",
    "inboundWebhookRequest",
    "contact",
    "request",
    "workflow",
    "now",
];

/// Names a sequence step's templates see.
pub const SEQUENCE_NAMES: [&str; 4] = ["contact", "workflow", "now", "sequence"];

/// The function that tests the current contact's tags in conditions.
pub const HAS_TAG: &str = "has_tag";

impl Scope {
    /// Steps of a workflow: the fixed names plus the mapping names, and `has_tag`.
    pub fn workflow(mapping: &[String]) -> Self {
        let mut names: BTreeSet<String> = WORKFLOW_NAMES.iter().map(|s| s.to_string()).collect();
        names.extend(mapping.iter().cloned());
        names.insert(HAS_TAG.into());
        Scope {
            names,
            what: "template",
        }
    }

    /// `filter` and `dedupe` run before any contact is found: no `contact`, no `has_tag`.
    pub fn before_contact(mapping: &[String]) -> Self {
        let mut scope = Scope::workflow(mapping);
        scope.names.remove("contact");
        scope.names.remove(HAS_TAG);
        scope.what = "trigger template (filter/dedupe run before a contact is found)";
        scope
    }

    /// Steps of a sequence.
    pub fn sequence() -> Self {
        let mut names: BTreeSet<String> = SEQUENCE_NAMES.iter().map(|s| s.to_string()).collect();
        names.insert(HAS_TAG.into());
        Scope {
            names,
            what: "sequence template",
        }
    }

    fn known_list(&self) -> String {
        self.names.iter().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The first name (alphabetically, so messages are stable) that this scope does not have.
    fn first_unknown(&self, used: impl IntoIterator<Item = String>) -> Option<String> {
        let env = Environment::new();
        let builtins: BTreeSet<&str> = env.globals().map(|(k, _)| k).collect();
        let mut unknown: Vec<String> = used
            .into_iter()
            .filter(|n| !self.names.contains(n) && !builtins.contains(n.as_str()))
            .collect();
        unknown.sort();
        unknown.into_iter().next()
    }

    fn undefined(&self, name: &str) -> String {
        format!(
            "undefined name `{name}` in {}; known names: {}",
            self.what,
            self.known_list()
        )
    }
}

/// Checks a template's syntax and names; the error is a message without position.
pub fn check_template(source: &str, scope: &Scope) -> Result<(), String> {
    let env = Environment::new();
    let tmpl = env
        .template_from_str(source)
        .map_err(|e| minijinja_message("template", &e))?;
    match scope.first_unknown(tmpl.undeclared_variables(false)) {
        Some(name) => Err(scope.undefined(&name)),
        None => Ok(()),
    }
}

/// Checks a condition expression (`trigger.event == 'x'`, `has_tag('vip')`).
pub fn check_expr(source: &str, scope: &Scope) -> Result<(), String> {
    let env = Environment::new();
    let expr = env
        .compile_expression(source)
        .map_err(|e| minijinja_message("condition", &e))?;
    match scope.first_unknown(expr.undeclared_variables(false)) {
        Some(name) => Err(scope.undefined(&name)),
        None => Ok(()),
    }
}

/// minijinja's message without its `(in <string>:1)` suffix; the line is kept only when the
/// text has several lines, since the YAML position already points at the text.
fn minijinja_message(what: &str, e: &minijinja::Error) -> String {
    let detail = e.detail().unwrap_or("");
    let line = match e.line() {
        Some(n) if n > 1 => format!(" (line {n} of the {what})"),
        _ => String::new(),
    };
    format!("{what} {}: {detail}{line}", e.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_names_and_builtins_are_known() {
        let scope = Scope::workflow(&["email".into()]);
        assert!(check_template("{{ email }} {{ trigger.id }} {{ range(3) }}", &scope).is_ok());
        assert!(check_template("{% for t in contact.tags %}{{ t }}{% endfor %}", &scope).is_ok());
        assert!(check_expr("has_tag('vip') and contact.dnd == false", &scope).is_ok());
    }

    #[test]
    fn a_misspelt_name_is_reported_with_the_known_ones() {
        let scope = Scope::workflow(&["email".into()]);
        let err = check_template("Hi {{ emial }}", &scope).unwrap_err();
        assert!(
            err.starts_with("undefined name `emial` in template; known names: "),
            "{err}"
        );
        assert!(err.contains("email") && err.contains("trigger"), "{err}");
    }

    #[test]
    fn contact_is_not_available_before_a_contact_is_found() {
        let scope = Scope::before_contact(&[]);
        assert!(check_expr("trigger.event == 'x'", &scope).is_ok());
        assert!(check_expr("contact.dnd", &scope)
            .unwrap_err()
            .contains("`contact`"));
        assert!(check_expr("has_tag('vip')", &scope)
            .unwrap_err()
            .contains("`has_tag`"));
    }

    #[test]
    fn sequences_see_only_contact_workflow_now_and_sequence() {
        let scope = Scope::sequence();
        assert!(check_template("{{ contact.first_name }} {{ sequence.name }}", &scope).is_ok());
        assert!(check_template("{{ trigger.id }}", &scope).is_err());
    }

    #[test]
    fn syntax_errors_carry_minijinja_s_reason() {
        let scope = Scope::workflow(&[]);
        let err = check_template("{{ trigger.id ", &scope).unwrap_err();
        assert!(err.starts_with("template syntax error: "), "{err}");
        assert!(check_expr("a ==", &scope)
            .unwrap_err()
            .starts_with("condition syntax error"));
    }
}
