//! Snapshots of `hookflow check` on `tests/check/`: one folder of workflows per kind of mistake,
//! each checked by the real binary as a user runs it. A folder with a `reference.json` is served
//! by a real server that captures that payload as the reference, so `check` compares against it.
//! Snapshots live in `tests/api/snapshots/`; a changed message shows up as a diff in review.

use crate::helpers::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs `hookflow check` on `tests/check/CASE` (relative, so labels are stable) against
/// `server`; returns what a user sees: stdout, the summary line and the exit status.
fn check(case: &str, server: &str, extra: &[&str]) -> String {
    let out = check_command(case_dir(case), server)
        .current_dir(repo())
        .args(extra)
        .output()
        .unwrap();
    format!(
        "{}{}exit status: {}\n",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code().unwrap_or(-1)
    )
}

fn case_dir(case: &str) -> PathBuf {
    Path::new("tests/check").join(case)
}

/// A server on the case's folder whose `booking` workflow captured `reference.json`.
async fn serve_with_reference(case: &str) -> TestApp {
    let app = spawn_with(Options {
        workflows: repo().join(case_dir(case)),
        ..Options::default()
    })
    .await;
    let payload = std::fs::read_to_string(repo().join(case_dir(case)).join("reference.json"));
    let (status, answer) = app
        .post_hook("booking", "application/json", payload.unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    app
}

macro_rules! snapshot_without_reference {
    ($($test:ident: $case:literal,)*) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!($case, check($case, DEAD, &[]));
        }
    )*};
}

snapshot_without_reference! {
    check_names_the_contact_field_a_typo_meant: "contact-field-typo",
    check_names_the_template_name_a_typo_meant: "undefined-name",
    check_names_the_request_field_a_typo_meant: "request-field-typo",
    check_says_to_quote_a_value_that_starts_with_braces: "unquoted-template",
    check_says_conditions_take_no_braces: "braces-in-condition",
    check_says_where_a_then_outside_its_if_belongs: "then-outside-if",
    check_says_where_a_then_indented_too_deep_belongs: "then-too-deep",
    check_prints_a_jsonpath_error_on_one_line: "jsonpath-syntax",
    check_covers_sequence_templates: "sequence-templates",
    check_points_into_the_email_template_file: "email-template-typo",
    check_finds_a_syntax_error_in_a_template_no_step_uses_yet: "unused-template-syntax",
}

#[test]
fn check_of_a_trigger_typo_without_a_reference_has_nothing_to_compare_against() {
    insta::assert_snapshot!(
        "trigger-path-typo-no-reference",
        check("trigger-path-typo", DEAD, &[])
    );
}

#[tokio::test]
async fn check_warns_of_a_trigger_path_missing_from_the_reference_with_the_closest_one() {
    let app = serve_with_reference("trigger-path-typo").await;
    insta::assert_snapshot!(
        "trigger-path-typo",
        check("trigger-path-typo", &app.base, &[])
    );
}

#[tokio::test]
async fn check_warns_of_a_mapping_path_missing_from_the_reference_with_the_closest_one() {
    let app = serve_with_reference("mapping-path-typo").await;
    insta::assert_snapshot!(
        "mapping-path-typo",
        check("mapping-path-typo", &app.base, &[])
    );
}

#[test]
fn check_json_is_one_document_with_counts_and_diagnostics() {
    let out = check("sequence-templates", DEAD, &["--json"]);
    let (doc, status) = out.rsplit_once("exit status: ").unwrap();
    let parsed: Value = serde_json::from_str(doc).expect("stdout is one JSON document");
    assert_eq!(status.trim(), "1");
    assert_eq!(parsed["files"], 2);
    assert_eq!(parsed["errors"], 2);
    assert_eq!(parsed["warnings"], 0);
    insta::assert_snapshot!("sequence-templates-json", doc);
}

#[test]
fn check_of_the_shipped_workflows_finds_no_error_and_no_warning() {
    let out = check_command("workflows", DEAD)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        String::from_utf8_lossy(&out.stderr).ends_with(": 0 errors, 0 warnings\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_api_gives_the_same_warnings_as_check() {
    let app = serve_with_reference("trigger-path-typo").await;
    let api = app.workflow("booking").await;
    let from_api: Vec<(u64, u64, String)> = api["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let n = |k: &str| w[k].as_u64().unwrap();
            (
                n("line"),
                n("column"),
                w["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let out = check("trigger-path-typo", &app.base, &["--json"]);
    let doc: Value = serde_json::from_str(out.rsplit_once("exit status").unwrap().0).unwrap();
    let from_check: Vec<(u64, u64, String)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = |k: &str| d[k].as_u64().unwrap();
            (
                n("line"),
                n("column"),
                d["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(from_api.len(), 1, "{api}");
    assert_eq!(from_api, from_check);
}

/// The files a doc's examples make: every fenced block that starts with `# workflows/PATH` (or
/// `<!-- workflows/PATH -->`) is that file.
fn doc_examples(doc: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap();
    let mut out = Vec::new();
    for block in text.split("```").skip(1).step_by(2) {
        let body = block.split_once('\n').map_or("", |(_, b)| b);
        let first = body.lines().next().unwrap_or("");
        let path = first
            .strip_prefix("# workflows/")
            .or_else(|| first.strip_prefix("<!-- workflows/"))
            .map(|p| p.trim_end_matches("-->").trim());
        if let Some(path) = path {
            out.push((path.to_string(), body.to_string()));
        }
    }
    out
}

#[test]
fn every_example_in_the_docs_passes_check() {
    for (doc, at_least) in [("docs/workflows.md", 20), ("docs/ghl.md", 3)] {
        let examples = doc_examples(doc);
        assert!(examples.len() >= at_least, "{doc} has {}", examples.len());
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in &examples {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, body).unwrap();
        }
        let out = check_command(dir.path(), DEAD)
            .envs(
                [
                    "OPTI_HOOK_TOKEN",
                    "KIVICARE_PASSWORD",
                    "EMBODIA_KEY",
                    "KIVICARE_API_KEY",
                    "SIGNING_SECRET",
                    "GHL_HOOK_TOKEN",
                ]
                .map(|k| (k, "example-secret")),
            )
            .env("WHSEC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{doc}:\n{stdout}");
        assert_eq!(stdout, "", "{doc}: no warnings either");
    }
}
