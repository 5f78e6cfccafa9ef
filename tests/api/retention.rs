//! Retention (`serve --retain`) with the manual clock: old requests, finished runs and sent
//! emails go; references, contacts, timelines, waiting runs, enrolments and timers stay.

use crate::helpers::*;
use crate::start_up::serve_refused;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const BOOK: &str = r#"name: Book
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - add_tag: booked
  - send_email: {subject: "See you", body: "Your visit is booked."}
"#;

const ENROL: &str = r#"name: Enrol
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - add_to_sequence: drip
"#;

const DRIP: &str = "name: Drip\nsteps:\n  - add_tag: first\n  - wait: 60d\n  - add_tag: second\n";

const WAITER: &str = r#"name: Waiter
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - wait: 60d
  - add_tag: after
"#;

async fn app(retain: &str) -> (tempfile::TempDir, TestApp) {
    let dir = workflows_dir(&[
        ("book.yaml", BOOK),
        ("enrol.yaml", ENROL),
        ("waiter.yaml", WAITER),
        ("sequences/drip.yaml", DRIP),
    ]);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        args: vec![
            "--clock".into(),
            "manual".into(),
            "--retain".into(),
            retain.into(),
        ],
        ..Options::default()
    })
    .await;
    (dir, app)
}

/// Posts `{"email": …}` and waits until its run stops moving; returns (request id, run).
async fn post(app: &TestApp, workflow: &str, email: &str) -> (String, Value) {
    let body = json!({ "email": email }).to_string();
    let (status, answer) = app.post_hook(workflow, "application/json", body).await;
    assert_eq!(status, 200, "{answer}");
    let run_id = accepted_run_ids(&answer).remove(0);
    let run = app.wait_run_done(&run_id).await;
    (answer["request_id"].as_str().unwrap().to_string(), run)
}

async fn sent_emails(app: &TestApp) -> Vec<Value> {
    app.get_ok("/api/outbox").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn eml_files(data: &Path) -> usize {
    std::fs::read_dir(data.join("outbox"))
        .map(|d| {
            d.flatten()
                .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// Two bookings (each with a sent email), an enrolment waiting 60 days and a run waiting 60
/// days, all made before the clock moves.
async fn old_history(app: &TestApp) -> (Vec<String>, Vec<String>, String) {
    let mut requests = Vec::new();
    let mut runs = Vec::new();
    for email in ["ann@example.com", "bob@example.com"] {
        let (request, run) = post(app, "book", email).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        requests.push(request);
        runs.push(run["id"].as_str().unwrap().to_string());
    }
    post(app, "enrol", "cat@example.com").await;
    let (_, waiting) = post(app, "waiter", "dan@example.com").await;
    assert_eq!(waiting["status"], "waiting", "{waiting}");
    eventually("both emails sent", Duration::from_secs(20), || async {
        let emails = sent_emails(app).await;
        (emails.len() == 2 && emails.iter().all(|e| e["state"] == "sent")).then_some(())
    })
    .await;
    assert_eq!(eml_files(app.data.path()), 2);
    (requests, runs, waiting["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn after_31_days_old_requests_runs_and_emails_are_gone_and_what_must_stay_stays() {
    let (_dir, app) = app("30d").await;
    let (old_requests, old_runs, waiting) = old_history(&app).await;
    app.advance_clock("31d").await;
    let (young, young_run) = post(&app, "book", "eve@example.com").await;

    eventually("old requests deleted", Duration::from_secs(20), || async {
        let (status, _) = app.get(&format!("/api/requests/{}", old_requests[0])).await;
        (status == 404).then_some(())
    })
    .await;
    for id in &old_requests {
        assert_eq!(app.get(&format!("/api/requests/{id}")).await.0, 404);
    }
    for id in &old_runs {
        assert_eq!(app.get(&format!("/api/runs/{id}")).await.0, 404);
    }
    let listed = app.get_ok("/api/requests?workflow=book").await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [young.as_str()]);
    // Old sent emails and their files are gone; the young booking's email is kept.
    let emails = eventually("the young email sent", Duration::from_secs(20), || async {
        let emails = sent_emails(&app).await;
        (emails.len() == 1 && emails[0]["state"] == "sent").then_some(emails)
    })
    .await;
    assert_eq!(emails[0]["run_id"], young_run["id"]);
    assert_eq!(eml_files(app.data.path()), 1);

    // The reference keeps its own copy of the first booking.
    let book = app.workflow("book").await;
    assert!(
        book["reference"].to_string().contains("ann@example.com"),
        "{book}"
    );
    // Contacts and their timelines stay.
    let ann = app.contact_by_email("ann@example.com").await;
    assert!(!ann["timeline"].as_array().unwrap().is_empty(), "{ann}");
    assert_eq!(ann["tags"], json!(["booked"]));
    // The waiting run, the active enrolment and their timers stay.
    assert_eq!(app.run(&waiting).await["status"], "waiting");
    let cat = app.contact_by_email("cat@example.com").await;
    assert_eq!(cat["sequences"][0]["state"], "active", "{cat}");
    let timers = app.get_ok("/api/timers").await;
    assert_eq!(timers["items"].as_array().unwrap().len(), 2, "{timers}");
}

#[tokio::test]
async fn with_retain_0_nothing_is_deleted() {
    let (_dir, app) = app("0").await;
    let (old_requests, old_runs, _) = old_history(&app).await;
    app.advance_clock("400d").await;
    post(&app, "book", "eve@example.com").await;
    let app = app.restart().await;
    for id in &old_requests {
        assert_eq!(app.get(&format!("/api/requests/{id}")).await.0, 200);
    }
    for id in &old_runs {
        assert_eq!(app.get(&format!("/api/runs/{id}")).await.0, 200);
    }
    let emails = eventually("three emails sent", Duration::from_secs(20), || async {
        let emails = sent_emails(&app).await;
        (emails.len() == 3).then_some(emails)
    })
    .await;
    assert_eq!(emails.len(), 3);
}

#[test]
fn a_bad_retain_value_is_refused_at_start_with_the_way_to_fix_it() {
    let (status, stderr) = serve_refused(&["--retain", "30x"], &[]);
    assert!(!status.success());
    assert!(stderr.contains("--retain"), "{stderr}");
    assert!(stderr.contains("unknown unit `x`"), "{stderr}");
    assert!(stderr.contains("`0` to keep everything"), "{stderr}");
}
