//! Every kind of load error, with the exact line and column `hookflow check` prints.

use super::load::{fixture_dir, load};
use crate::domain::ids::WorkflowId;
use crate::workflow::load::load_sequence_source;

const BASE: &str = r#"name: Booking
trigger:
  inbound_webhook:
    auth: {type: bearer, token: "${OPTI_HOOK_TOKEN}"}
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - add_tag: Booked
"#;

/// Loads BASE with one replacement and returns `(line, column, message)` of the error.
fn error_of(from: &str, to: &str) -> (u32, u32, String) {
    assert!(BASE.contains(from), "{from}");
    let dir = fixture_dir();
    let d = load(&BASE.replacen(from, to, 1), dir.path()).unwrap_err();
    assert_eq!(d.file, "workflows/booking.yaml");
    (d.line, d.column, d.message)
}

#[test]
fn the_base_workflow_is_valid() {
    let dir = fixture_dir();
    assert!(load(BASE, dir.path()).is_ok());
}

#[test]
fn an_unknown_key_lists_the_allowed_keys() {
    let (l, c, m) = error_of("create: true", "creat: true");
    assert_eq!((l, c), (8, 42));
    assert_eq!(
        m,
        "unknown key `creat`; allowed keys: email, phone, first_name, last_name, create"
    );
    let (l, c, m) = error_of("name: Booking\n", "name: Booking\nowner: ann\n");
    assert_eq!((l, c), (2, 1));
    assert!(m.starts_with("unknown key `owner`"), "{m}");
}

#[test]
fn an_unknown_step_kind_lists_the_known_kinds() {
    let (l, c, m) = error_of("- add_tag: Booked", "- add_tags: Booked");
    assert_eq!((l, c), (9, 5));
    assert!(
        m.starts_with("unknown step kind `add_tags`; known: find_contact, update_contact"),
        "{m}"
    );
}

#[test]
fn a_bad_duration_points_at_the_value() {
    let (l, c, m) = error_of("mapping:", "    dedupe_window: 3x\nmapping:");
    assert_eq!((l, c), (5, 20));
    assert!(
        m.starts_with("dedupe_window: invalid duration `3x`: unknown unit `x`"),
        "{m}"
    );
    let (l, c, m) = error_of("- add_tag: Booked", "- wait: 3 days");
    assert_eq!((l, c), (9, 11));
    assert!(m.starts_with("wait: invalid duration"), "{m}");
}

#[test]
fn a_bad_jsonpath_points_at_the_path() {
    let (l, c, m) = error_of("$.email", "$.email[");
    assert_eq!((l, c), (6, 10));
    assert!(m.starts_with("invalid JSONPath `$.email[`"), "{m}");
    let (l, c, m) = error_of("$.email", "email");
    assert_eq!((l, c), (6, 10));
    assert!(m.contains("must start with `$`"), "{m}");
}

#[test]
fn a_template_syntax_error_points_at_the_string() {
    let (l, c, m) = error_of("\"{{ email }}\"", "\"{{ email }\"");
    // At the `}` where the engine's parser gave up, inside the quotes.
    assert_eq!((l, c), (8, 37));
    assert!(
        m.starts_with("template syntax error in `{{ email }`"),
        "{m}"
    );
}

#[test]
fn an_undefined_template_name_is_an_error() {
    let (l, c, m) = error_of("\"{{ email }}\"", "\"{{ emial }}\"");
    assert_eq!((l, c), (8, 31));
    assert!(
        m.starts_with(
            "undefined name `emial` in template (did you mean `email`?); known names: contact, email"
        ),
        "{m}"
    );
    let (l, c, m) = error_of(
        "- add_tag: Booked",
        "- add_tag: [Booked, {label: \"{{ nope }}\"}]",
    );
    // A literal's strings count from the literal's start.
    assert_eq!((l, c), (9, 26));
    assert!(m.contains("`nope`"), "{m}");
}

#[test]
fn a_filter_cannot_use_the_contact() {
    let (l, c, m) = error_of("mapping:", "    filter: \"contact.dnd == false\"\nmapping:");
    assert_eq!((l, c), (5, 14));
    assert!(
        m.starts_with("undefined name `contact` in trigger template"),
        "{m}"
    );
}

#[test]
fn an_unset_environment_variable_is_named_with_its_line() {
    let (l, c, m) = error_of("${OPTI_HOOK_TOKEN}", "${OPTI_TOKEN_TYPO}");
    assert_eq!((l, c), (4, 11));
    assert!(
        m.starts_with(
            "environment variable `OPTI_TOKEN_TYPO` (used in auth.token at line 4) is not set"
        ),
        "{m}"
    );
}

#[test]
fn an_unknown_sequence_is_an_error_at_the_step() {
    let (l, c, m) = error_of("- add_tag: Booked", "- add_to_sequence: nope");
    assert_eq!((l, c), (9, 22));
    assert_eq!(m, "unknown sequence `nope`: no file sequences/nope.yaml; known sequences: vip-welcome, warming");
}

#[test]
fn a_missing_email_template_file_is_an_error() {
    let (l, c, m) = error_of(
        "- add_tag: Booked",
        "- send_email: {subject: Hi, template: templates/missing.html}",
    );
    assert_eq!((l, c), (9, 41));
    assert!(
        m.starts_with("cannot read template `templates/missing.html`"),
        "{m}"
    );
    let (_, _, m) = error_of(
        "- add_tag: Booked",
        "- send_email: {subject: Hi, template: ../secrets.txt}",
    );
    assert!(m.contains("without `..`"), "{m}");
    let (l, c, m) = error_of("- add_tag: Booked", "- send_email: {subject: Hi}");
    assert_eq!((l, c), (9, 5));
    assert!(
        m.starts_with("send_email needs `body`, `html` or `template`"),
        "{m}"
    );
}

#[test]
fn a_bad_wait_until_time_is_an_error() {
    let (l, c, m) = error_of("- add_tag: Booked", "- wait: {until: \"25:00\"}");
    assert_eq!((l, c), (9, 19));
    assert!(m.contains("24-hour time HH:MM"), "{m}");
}

#[test]
fn a_yaml_syntax_error_has_a_position() {
    let (l, c, _) = error_of("steps:\n", "steps: [\n");
    assert!(l >= 8 && c >= 1, "{l}:{c}");
}

#[test]
fn a_sequence_rejects_steps_that_need_a_trigger() {
    let dir = fixture_dir();
    let text = "name: Warming\nsteps:\n  - send_email: {subject: Hi, body: Hello}\n  - find_contact: {email: x@example.com}\n";
    let id = WorkflowId::parse("warming").unwrap();
    let d = load_sequence_source(&id, "workflows/sequences/warming.yaml", text, dir.path())
        .unwrap_err();
    assert_eq!((d.line, d.column), (4, 5));
    assert_eq!(
        d.message,
        "step `find_contact` is not allowed in a sequence; sequences may use: send_email, wait, add_tag, remove_tag, set_dnd"
    );
    let text =
        "name: Warming\nsteps:\n  - send_email: {subject: \"{{ trigger.id }}\", body: Hello}\n";
    let d = load_sequence_source(&id, "s.yaml", text, dir.path()).unwrap_err();
    assert_eq!((d.line, d.column), (3, 31));
    assert!(
        d.message
            .starts_with("undefined name `trigger` in sequence template"),
        "{}",
        d.message
    );
}

#[test]
fn a_name_in_a_block_scalar_is_reported_at_its_line_and_column_in_the_file() {
    let (l, c, m) = error_of(
        "  - add_tag: Booked\n",
        "  - send_email:\n      subject: Hi\n      body: |\n        Hello,\n        Hi {{ contact.frist_name }}\n",
    );
    assert_eq!((l, c), (13, 15));
    assert!(m.contains("(did you mean `first_name`?)"), "{m}");
}

#[test]
fn max_items_must_be_at_least_one() {
    let (l, _, m) = error_of("    auth: {", "    limits: {max_items: 0}\n    auth: {");
    assert_eq!(l, 4);
    assert_eq!(m, "limits.max_items must be at least 1");
}
