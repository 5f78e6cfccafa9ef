//! Sequences, waits and the clock over HTTP: enrolment rules, `clock advance`, timers that
//! survive restarts and fire late, once.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const ENROL: &str = r#"name: Enrol
mapping:
  email: $.email
  action: $.action
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - if:
      condition: "action == 'remove'"
      then: [ {remove_from_sequence: s} ]
      else: [ {add_to_sequence: s} ]
"#;

const SEQ: &str =
    "name: Slow drip\nsteps:\n  - add_tag: first\n  - wait: 3d\n  - add_tag: second\n";

const WAITER: &str = r#"name: Waiter
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - if:
      condition: "email != ''"
      then:
        - add_tag: before
        - wait: 2h
        - add_tag: after
  - add_tag: end
"#;

async fn manual_app(files: &[(&str, &str)]) -> (tempfile::TempDir, TestApp) {
    let dir = workflows_dir(files);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        args: vec!["--clock".into(), "manual".into()],
        ..Options::default()
    })
    .await;
    (dir, app)
}

async fn post(app: &TestApp, workflow: &str, body: Value) -> Value {
    let (status, answer) = app
        .post_hook(workflow, "application/json", body.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn advance(app: &TestApp, by: &str) -> (u16, Value) {
    app.send(
        app.client
            .post(format!("{}/api/clock/advance", app.base))
            .json(&json!({ "by": by })),
    )
    .await
}

async fn contact(app: &TestApp, email: &str) -> Option<Value> {
    let list = app.get_ok(&format!("/api/contacts?q={email}")).await;
    list["items"].as_array()?.first().cloned()
}

fn tags(c: &Value) -> Vec<String> {
    c["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// Waits until the contact has exactly `want` as tags.
async fn tags_become(app: &TestApp, email: &str, want: &[&str]) -> Value {
    eventually(
        &format!("{email} tagged {want:?}"),
        Duration::from_secs(15),
        || async {
            let c = contact(app, email).await?;
            (tags(&c) == want).then_some(c)
        },
    )
    .await
}

#[tokio::test]
async fn an_enrolled_contact_gets_the_first_step_at_once_and_the_next_after_advancing_3d() {
    let (_dir, app) = manual_app(&[("enrol.yaml", ENROL), ("sequences/s.yaml", SEQ)]).await;
    post(&app, "enrol", json!({"email": "ann@example.com"})).await;
    let c = tags_become(&app, "ann@example.com", &["first"]).await;
    assert_eq!(c["sequences"][0]["sequence"], "s");
    assert_eq!(c["sequences"][0]["state"], "active");
    assert_eq!(c["sequences"][0]["step"], 2);
    let timers = app.get_ok("/api/timers").await;
    assert_eq!(timers["items"].as_array().unwrap().len(), 1);
    assert_eq!(timers["items"][0]["kind"], "sequence_step");
    assert_eq!(
        timers["items"][0]["due_at"],
        c["sequences"][0]["next_due_at"]
    );

    let seq = app.get_ok("/api/sequences/s").await;
    assert_eq!(seq["enrolments"][0]["next_step_kind"], "add_tag");
    assert_eq!(seq["enrolments"][0]["contact_id"], c["id"]);

    let (status, answer) = advance(&app, "3d").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["fired"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["fired"][0]["kind"], "sequence_step");
    let c = contact(&app, "ann@example.com").await.unwrap();
    assert_eq!(tags(&c), ["first", "second"]);
    assert_eq!(c["sequences"][0]["state"], "completed");
    assert!(app.get_ok("/api/timers").await["items"]
        .as_array()
        .unwrap()
        .is_empty());

    let list = app.get_ok("/api/sequences").await;
    assert_eq!(list["items"][0]["id"], "s");
    assert_eq!(list["items"][0]["steps"], 3);
    assert_eq!(list["items"][0]["enrolments"]["completed"], 1);

    // Completed → adding again starts over.
    post(&app, "enrol", json!({"email": "ann@example.com"})).await;
    eventually("re-enrolment", Duration::from_secs(15), || async {
        let s = app.get_ok("/api/sequences/s").await;
        (s["counts"]["active"] == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_removed_contact_gets_nothing_more_and_can_be_enrolled_again() {
    let (_dir, app) = manual_app(&[("enrol.yaml", ENROL), ("sequences/s.yaml", SEQ)]).await;
    post(&app, "enrol", json!({"email": "bo@example.com"})).await;
    tags_become(&app, "bo@example.com", &["first"]).await;
    post(
        &app,
        "enrol",
        json!({"email": "bo@example.com", "action": "remove"}),
    )
    .await;
    let (_, answer) = advance(&app, "5d").await;
    assert!(answer["fired"].as_array().unwrap().is_empty(), "{answer}");
    let c = contact(&app, "bo@example.com").await.unwrap();
    assert_eq!(tags(&c), ["first"]);
    assert_eq!(c["sequences"][0]["state"], "cancelled");
    assert_eq!(c["sequences"][0]["next_due_at"], Value::Null);

    post(&app, "enrol", json!({"email": "bo@example.com"})).await;
    let c = eventually("restart after cancel", Duration::from_secs(15), || async {
        let c = contact(&app, "bo@example.com").await?;
        (c["sequences"][0]["state"] == "active").then_some(c)
    })
    .await;
    assert_eq!(c["sequences"].as_array().unwrap().len(), 1);
    advance(&app, "3d").await;
    tags_become(&app, "bo@example.com", &["first", "second"]).await;
}

#[tokio::test]
async fn the_clock_api_refuses_bad_durations_and_a_real_clock() {
    let (_dir, app) = manual_app(&[("enrol.yaml", ENROL), ("sequences/s.yaml", SEQ)]).await;
    let before = app.get_ok("/api/clock").await;
    assert_eq!(before["mode"], "manual");
    for bad in ["-1d", "3x", "", "1h30"] {
        let (status, body) = advance(&app, bad).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }
    let (status, _) = app
        .send(
            app.client
                .post(format!("{}/api/clock/advance", app.base))
                .body("{}"),
        )
        .await;
    assert_eq!(status, 400);
    let (status, answer) = advance(&app, "1h30m").await;
    assert_eq!(status, 200);
    let t0 = time_ms(before["now"].as_str().unwrap());
    let t1 = time_ms(answer["now"].as_str().unwrap());
    assert_eq!(t1 - t0, 90 * 60 * 1000);
    assert_eq!(app.get_ok("/api/clock").await["now"], answer["now"]);

    let dir = workflows_dir(&[("enrol.yaml", ENROL), ("sequences/s.yaml", SEQ)]);
    let real = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        ..Options::default()
    })
    .await;
    assert_eq!(real.get_ok("/api/clock").await["mode"], "real");
    let (status, body) = advance(&real, "1d").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
}

#[tokio::test]
async fn the_manual_clock_and_a_wait_inside_an_if_survive_a_restart() {
    let (_dir, app) = manual_app(&[("waiter.yaml", WAITER)]).await;
    let answer = post(&app, "waiter", json!({"email": "cy@example.com"})).await;
    let run_id = answer["items"][0]["run_id"].as_str().unwrap().to_string();
    let run = eventually("run waiting", Duration::from_secs(15), || async {
        let r = app.get_ok(&format!("/api/runs/{run_id}")).await;
        (r["status"] == "waiting").then_some(r)
    })
    .await;
    assert_eq!(run["position"], json!([1, "then", 1]));
    assert_eq!(
        run["steps"].as_array().unwrap().last().unwrap()["status"],
        "waiting"
    );
    advance(&app, "1h").await;
    let clock = app.get_ok("/api/clock").await["now"].clone();

    let app = app.restart().await;
    assert_eq!(
        app.get_ok("/api/clock").await["now"],
        clock,
        "the manual clock is stored"
    );
    let timers = app.get_ok("/api/timers").await;
    assert_eq!(timers["items"][0]["run_id"], run_id.as_str());
    let (_, answer) = advance(&app, "1h").await;
    assert_eq!(answer["fired"][0]["kind"], "run_wait", "{answer}");
    assert_eq!(answer["fired"][0]["status"], "succeeded");
    let run = app.get_ok(&format!("/api/runs/{run_id}")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let paths: Vec<_> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].clone(), s["status"].clone()))
        .collect();
    assert_eq!(
        paths,
        vec![
            (json!([0]), json!("succeeded")),
            (json!([1]), json!("succeeded")),
            (json!([1, "then", 0]), json!("succeeded")),
            (json!([1, "then", 1]), json!("succeeded")),
            (json!([1, "then", 2]), json!("succeeded")),
            (json!([2]), json!("succeeded")),
        ]
    );
    let c = contact(&app, "cy@example.com").await.unwrap();
    assert_eq!(tags(&c), ["before", "after", "end"]);
}

#[tokio::test]
async fn what_became_due_while_the_server_was_stopped_fires_late_once() {
    let (mut app, _dir) = spawn_workflows(&[
        (
            "enrol.yaml",
            &ENROL.replace("sequence: s", "sequence: late"),
        ),
        ("waiter.yaml", &WAITER.replace("2h", "2s")),
        (
            "sequences/late.yaml",
            "name: Late\nsteps:\n  - wait: 2s\n  - send_email: {subject: \"Hi {{ contact.email }}\", body: \"late\"}\n  - add_tag: late\n",
        ),
    ]).await;
    post(&app, "enrol", json!({"email": "di@example.com"})).await;
    let answer = post(&app, "waiter", json!({"email": "ed@example.com"})).await;
    let run_id = answer["items"][0]["run_id"].as_str().unwrap().to_string();
    // Both scheduled (on a slow machine one may already have fired; the test still holds).
    eventually("both scheduled", Duration::from_secs(10), || async {
        let run = app.get_ok(&format!("/api/runs/{run_id}")).await;
        let enrolled = contact(&app, "di@example.com").await?["sequences"][0]["state"].is_string();
        (enrolled && matches!(run["status"].as_str(), Some("waiting" | "succeeded"))).then_some(())
    })
    .await;
    app.stop();
    std::thread::sleep(Duration::from_millis(2500));
    let app = app.restart().await;
    let c = tags_become(&app, "di@example.com", &["late"]).await;
    assert_eq!(c["sequences"][0]["state"], "completed");
    let run = eventually("run resumed", Duration::from_secs(10), || async {
        let r = app.get_ok(&format!("/api/runs/{run_id}")).await;
        (r["status"] == "succeeded").then_some(r)
    })
    .await;
    let after: Vec<_> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["path"] == json!([1, "then", 2]))
        .collect();
    assert_eq!(after.len(), 1, "the step after the wait ran once: {run}");
    let shown = app
        .get_ok(&format!("/api/contacts/{}", c["id"].as_str().unwrap()))
        .await;
    let late_tagged = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["changes"]["tags_added"] == json!(["late"]))
        .count();
    assert_eq!(late_tagged, 1, "{shown}");
    assert!(app.get_ok("/api/timers").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let outbox = app.get_ok("/api/outbox").await;
    let to_di: Vec<_> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to"] == "di@example.com")
        .collect();
    assert_eq!(to_di.len(), 1, "the email went out once: {outbox}");
    assert_eq!(to_di[0]["subject"], "Hi di@example.com");
}

#[tokio::test]
async fn a_dnd_contact_gets_no_sequence_email_but_the_sequence_goes_on() {
    let enrol = ENROL.replace(
        "  - if:",
        "  - if:\n      condition: \"email == 'dnd@example.com'\"\n      then: [ {set_dnd: true} ]\n      else: []\n  - if:",
    );
    let (_dir, app) = manual_app(&[
        ("enrol.yaml", &enrol),
        (
            "sequences/s.yaml",
            "name: Mail\nsteps:\n  - send_email: {subject: Welcome, body: hi}\n  - add_tag: mailed\n",
        ),
    ])
    .await;
    post(&app, "enrol", json!({"email": "dnd@example.com"})).await;
    post(&app, "enrol", json!({"email": "ok@example.com"})).await;
    let (_, answer) = advance(&app, "1m").await;
    assert!(answer["now"].is_string());
    tags_become(&app, "dnd@example.com", &["mailed"]).await;
    tags_become(&app, "ok@example.com", &["mailed"]).await;
    let outbox = app.get_ok("/api/outbox").await;
    let state_of = |to: &str| {
        outbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["to"] == to)
            .map(|e| e["state"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(state_of("dnd@example.com"), ["skipped"], "{outbox}");
    assert_eq!(state_of("ok@example.com").len(), 1, "{outbox}");
    assert_ne!(state_of("ok@example.com")[0], "skipped");
}

#[tokio::test]
async fn unknown_sequences_are_404() {
    let (_dir, app) = manual_app(&[("sequences/s.yaml", SEQ)]).await;
    let (status, body) = app.get("/api/sequences/nope").await;
    assert_eq!(status, 404, "{body}");
}

fn time_ms(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn hookflow_clock_shows_and_advances_the_servers_manual_clock() {
    let (_dir, app) = manual_app(&[("enrol.yaml", ENROL), ("sequences/s.yaml", SEQ)]).await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hookflow"))
            .args(args)
            .args(["--server", &app.base])
            .env_remove("HOOKFLOW_ADMIN_TOKEN")
            .output()
            .unwrap()
    };
    let shown = cli(&["clock"]);
    assert!(shown.status.success());
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.starts_with("manual\t"), "{text}");

    post(&app, "enrol", json!({"email": "fi@example.com"})).await;
    tags_become(&app, "fi@example.com", &["first"]).await;
    let out = cli(&["clock", "advance", "3d", "--json"]);
    stdout_ok(&out);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["fired"][0]["kind"], "sequence_step", "{answer}");
    assert_eq!(answer["fired"][0]["detail"]["kind"], "add_tag");
    tags_become(&app, "fi@example.com", &["first", "second"]).await;

    let bad = cli(&["clock", "advance", "3x"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown unit"));
}

#[tokio::test]
async fn wait_until_is_the_next_such_time_in_the_contacts_timezone() {
    let (_dir, app) = manual_app(&[(
        "morning.yaml",
        "name: Morning\nmapping:\n  email: $.email\nsteps:\n  - find_contact: {email: \"{{ email }}\", create: true}\n  - update_contact: {timezone: America/Toronto}\n  - wait: {until: \"09:00\"}\n  - add_tag: morning\n",
    )])
    .await;
    let now = app.get_ok("/api/clock").await["now"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = post(&app, "morning", json!({"email": "gu@example.com"})).await;
    let run_id = answer["items"][0]["run_id"].as_str().unwrap().to_string();
    let run = eventually("run waiting", Duration::from_secs(15), || async {
        let r = app.get_ok(&format!("/api/runs/{run_id}")).await;
        (r["status"] == "waiting").then_some(r)
    })
    .await;
    let due = run["steps"][2]["output"]["due_at"]
        .as_str()
        .unwrap()
        .to_string();
    let tz = jiff::tz::TimeZone::get("America/Toronto").unwrap();
    let local = due.parse::<jiff::Timestamp>().unwrap().to_zoned(tz);
    assert_eq!((local.hour(), local.minute()), (9, 0), "{due}");
    let (due_ms, now_ms) = (time_ms(&due), time_ms(&now));
    assert!(
        due_ms > now_ms && due_ms - now_ms <= 86_400_000,
        "{now} → {due}"
    );
    let (_, answer) = advance(&app, "1d").await;
    assert_eq!(answer["fired"][0]["due_at"], due.as_str(), "{answer}");
    tags_become(&app, "gu@example.com", &["morning"]).await;
}
