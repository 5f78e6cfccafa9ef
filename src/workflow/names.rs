//! Load-time checks of what templates and conditions read. The engine's own renderer compiles
//! each source and lists the dotted paths it reads (`contact.first_name`), so a syntax error here
//! is the one a run would hit; this module then checks each path against what the run will
//! hold: the names in scope, and the fields of `contact`, `request`, `workflow` and `sequence`.
//! A typo (`contact.frist_name`) is reported by `hookflow check` instead of failing a run after
//! its earlier steps were applied. `trigger` paths depend on the payload: they are kept for the
//! reference lint (`lint`).

use super::suggest::did_you_mean;
use crate::domain::contact::Contact;
use crate::engine::template::{Read, Renderer};
use std::collections::BTreeSet;

/// The names a template or condition may use in one context.
#[derive(Debug, Clone)]
pub struct Scope {
    names: BTreeSet<String>,
    /// Where the names come from, for the error message ("in filter", "in a sequence").
    what: &'static str,
    /// Mapping names: their values come from the payload, so their fields are not checked.
    mapping: BTreeSet<String>,
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

/// The two names of the payload item; their paths are checked against the captured reference.
pub const TRIGGER_NAMES: [&str; 2] = ["trigger", "inboundWebhookRequest"];

/// How a sequence's templates are named in messages.
const SEQUENCE: &str = "sequence template";

/// The fields of `request` (built in `intake::items::request_context`).
const REQUEST_FIELDS: [&str; 4] = ["headers", "query", "received_at", "method"];
/// The fields of `workflow` and `sequence` (built in `engine::context`, `engine::executor::sequence`).
const ID_NAME_FIELDS: [&str; 2] = ["id", "name"];

impl Scope {
    /// Steps of a workflow: the fixed names plus the mapping names, and `has_tag`.
    pub fn workflow(mapping: &[String]) -> Self {
        let mut names: BTreeSet<String> = WORKFLOW_NAMES.iter().map(|s| s.to_string()).collect();
        names.extend(mapping.iter().cloned());
        names.insert(HAS_TAG.into());
        Scope {
            names,
            what: "template",
            mapping: mapping.iter().cloned().collect(),
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
            what: SEQUENCE,
            mapping: BTreeSet::new(),
        }
    }

    /// The first read that cannot work at run time, as `(read, message)`; `None` when all can.
    pub fn first_problem<'r>(
        &self,
        reads: &'r [Read],
        renderer: &Renderer,
    ) -> Option<(&'r Read, String)> {
        reads
            .iter()
            .find_map(|r| self.problem(&r.path, renderer).map(|m| (r, m)))
    }

    fn problem(&self, path: &str, renderer: &Renderer) -> Option<String> {
        let mut segs = path.split('.');
        let root = segs.next().unwrap_or(path);
        // `has_tag` is a function of every template, but not one a filter may call.
        let known = self.names.contains(root) || (renderer.is_function(root) && root != HAS_TAG);
        if !known {
            let names = self.names.iter().map(String::as_str);
            let hint = match (self.what, TRIGGER_NAMES.contains(&root)) {
                (SEQUENCE, true) => {
                    " (a sequence outlives the request that started it: copy \
                                     what it needs into `contact.custom` in the workflow)"
                }
                _ => "",
            };
            return Some(format!(
                "undefined name `{root}` in {}{}; known names: {}{hint}",
                self.what,
                did_you_mean(root, names.clone()),
                names.collect::<Vec<_>>().join(", ")
            ));
        }
        let field = segs.next()?;
        if self.mapping.contains(root) {
            return None;
        }
        let fields: Vec<String> = match root {
            "contact" => contact_fields(),
            "request" => REQUEST_FIELDS.iter().map(|s| s.to_string()).collect(),
            "workflow" | "sequence" => ID_NAME_FIELDS.iter().map(|s| s.to_string()).collect(),
            "now" => {
                return Some(format!(
                    "`now` is a text (the current time, RFC 3339) and has no field `{field}`"
                ))
            }
            _ => return None,
        };
        if fields.iter().any(|f| f == field) {
            return None;
        }
        let names = fields.iter().map(String::as_str);
        Some(format!(
            "`{root}` has no field `{field}`{}; {root} fields: {}{}",
            did_you_mean(field, names.clone()),
            names.collect::<Vec<_>>().join(", "),
            if root == "contact" {
                " (your own fields go under `contact.custom`)"
            } else {
                ""
            }
        ))
    }
}

/// The contact's fields as templates see them: the keys of a serialised [`Contact`], so this
/// list cannot drift from the model.
pub fn contact_fields() -> Vec<String> {
    match serde_json::to_value(Contact::new(0)) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// True when `source` guards `path` (`path | default(…)`, `path is defined`): a payload may
/// lack it and the author said so.
pub fn is_guarded(source: &str, path: &str) -> bool {
    source.match_indices(path).any(|(i, _)| {
        let after = source[i + path.len()..].trim_start();
        let filter = after
            .strip_prefix('|')
            .map(str::trim_start)
            .is_some_and(|f| f.starts_with("default") || f.starts_with("d("));
        filter || after.starts_with("is defined") || after.starts_with("is undefined")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(scope: &Scope, path: &str) -> Option<String> {
        scope.problem(path, &Renderer::new())
    }

    #[test]
    fn mapping_names_builtins_and_model_fields_are_known() {
        let scope = Scope::workflow(&["email".into()]);
        for ok in [
            "email",
            "email.anything",
            "trigger.whatever.deep",
            "contact.first_name",
            "contact.custom.visits",
            "request.query.src",
            "workflow.name",
            "range",
            "has_tag",
        ] {
            assert_eq!(problem(&scope, ok), None, "{ok}");
        }
    }

    #[test]
    fn a_misspelt_contact_field_is_reported_with_the_closest_field() {
        let scope = Scope::workflow(&[]);
        let m = problem(&scope, "contact.frist_name").unwrap();
        assert!(
            m.starts_with("`contact` has no field `frist_name` (did you mean `first_name`?);"),
            "{m}"
        );
        let m = problem(&scope, "request.querry.src").unwrap();
        assert!(m.contains("(did you mean `query`?)"), "{m}");
    }

    #[test]
    fn contact_fields_are_those_of_the_model() {
        let fields = contact_fields();
        for f in [
            "id",
            "first_name",
            "custom",
            "dnd",
            "sequences",
            "updated_at",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn contact_is_not_available_before_a_contact_is_found() {
        let scope = Scope::before_contact(&[]);
        assert!(problem(&scope, "contact.dnd")
            .unwrap()
            .contains("`contact`"));
        assert!(problem(&scope, "has_tag").unwrap().contains("`has_tag`"));
    }

    #[test]
    fn sequences_see_only_contact_workflow_now_and_sequence() {
        let scope = Scope::sequence();
        assert_eq!(problem(&scope, "sequence.name"), None);
        assert!(problem(&scope, "trigger.id")
            .unwrap()
            .starts_with("undefined name `trigger` in sequence template"));
    }

    #[test]
    fn a_default_or_is_defined_guards_a_path() {
        assert!(is_guarded("{{ trigger.x | default('') }}", "trigger.x"));
        assert!(is_guarded("{% if trigger.x is defined %}", "trigger.x"));
        assert!(!is_guarded("{{ trigger.x | upper }}", "trigger.x"));
    }
}
