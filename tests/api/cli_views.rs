//! The CLI's views of a running server (`requests`, `runs`, `outbox`, `reference`, `rotate`),
//! their `--json` documents field by field, and output to a closed pipe.

use crate::helpers::*;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

fn hookflow(app: &TestApp) -> Command {
    let mut cmd = cli();
    cmd.args(["--server", &app.base]);
    cmd
}

/// Runs a command whose stdout is a pipe nobody reads any more (`| head -0`).
fn into_closed_pipe(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly_with_status_0() {
    let app = spawn_app().await;
    app.post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let commands: Vec<Vec<&str>> = vec![
        vec!["urls"],
        vec!["urls", "--json"],
        vec!["clock"],
        vec!["requests"],
        vec!["runs", "--json"],
        vec!["outbox"],
        vec!["reference", "show", "optimantra-booking"],
    ];
    for args in commands {
        let mut cmd = hookflow(&app);
        cmd.args(&args);
        let out = into_closed_pipe(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// Runs `hookflow ARGS --json` against the app and parses its one JSON document.
fn json_of(app: &TestApp, args: &[&str]) -> Value {
    let out = hookflow(app).args(args).arg("--json").output().unwrap();
    let stdout = stdout_ok(&out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// Runs `hookflow ARGS` and returns its stdout, asserting success.
fn text_of(app: &TestApp, args: &[&str]) -> String {
    stdout_ok(&hookflow(app).args(args).output().unwrap())
}

#[tokio::test]
async fn every_cli_view_gives_the_apis_json_field_by_field() {
    let app = spawn_app().await;
    let first = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let answer = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let run_id = accepted_run_ids(&answer)[0].clone();
    let run = app.wait_run_done(&run_id).await;
    let request_id = answer["request_id"].as_str().unwrap();

    let requests = json_of(&app, &["requests", "--workflow", "optimantra-booking"]);
    let api = app
        .get_ok("/api/requests?workflow=optimantra-booking&limit=50")
        .await;
    assert_eq!(requests, api);
    assert_eq!(requests["items"][0]["id"], request_id);
    assert_eq!(requests["items"][0]["status"], "accepted");
    assert_eq!(requests["items"][0]["http_status"], 200);
    assert_eq!(requests["items"][0]["items"][0]["run_id"], run_id.as_str());
    assert_eq!(requests["items"][1]["id"], first["request_id"]);

    let page = json_of(&app, &["requests", "--limit", "1"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = json_of(&app, &["requests", "--limit", "1", "--cursor", cursor]);
    assert_eq!(next["items"][0]["id"], first["request_id"]);
    assert_eq!(next["next_cursor"], Value::Null);

    let one = json_of(&app, &["requests", "show", request_id]);
    assert_eq!(one["id"], request_id);
    assert_eq!(
        one["body"].as_str().unwrap().as_bytes(),
        sample("optimantra/booking.json")
    );
    assert_eq!(one["items"][0]["run_id"], run_id.as_str());

    let runs = json_of(&app, &["runs", "--status", "succeeded"]);
    assert_eq!(runs["items"][0]["id"], run_id.as_str());
    assert_eq!(runs["items"][0]["contact_id"], run["contact_id"]);
    let contact = run["contact_id"].as_str().unwrap();
    let by_contact = json_of(&app, &["runs", "--contact", contact]);
    assert_eq!(by_contact["items"].as_array().unwrap().len(), 2);
    let shown = json_of(&app, &["runs", "show", &run_id]);
    assert_eq!(shown, run);

    // Delivery runs after the run: wait until the email went out.
    eventually(
        "the email to be sent",
        std::time::Duration::from_secs(10),
        || async {
            let sent = app.get_ok("/api/outbox?state=sent").await;
            sent["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["run_id"] == run_id.as_str())
                .then_some(())
        },
    )
    .await;
    let outbox = json_of(&app, &["outbox", "--state", "sent"]);
    let email = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["run_id"] == run_id.as_str())
        .expect("the run's email")
        .clone();
    assert_eq!(email["to"], "jane.doe@example.com");
    assert_eq!(email["state"], "sent");
    let email_id = email["id"].as_str().unwrap();
    let shown = json_of(&app, &["outbox", "show", email_id]);
    assert_eq!(shown["id"], email_id);
    let message = shown["message"].as_str().unwrap();
    assert!(
        message.contains("Subject: See you on 2026-12-03, Jane"),
        "{message}"
    );
    let printed = text_of(&app, &["outbox", "show", email_id]);
    assert!(
        printed.contains("Subject: See you on 2026-12-03, Jane"),
        "{printed}"
    );

    let reference = json_of(&app, &["reference", "show", "optimantra-booking"]);
    assert_eq!(reference["request_id"], first["request_id"]);
    let set = json_of(
        &app,
        &["reference", "set", "optimantra-booking", request_id],
    );
    assert_eq!(set["request_id"], request_id);
    assert_eq!(
        app.workflow("optimantra-booking").await["reference"]["request_id"],
        request_id
    );
    let cleared = json_of(&app, &["reference", "clear", "optimantra-booking"]);
    assert_eq!(cleared, Value::Null);
    assert_eq!(
        app.workflow("optimantra-booking").await["reference"],
        Value::Null
    );

    let old_url = app.url("optimantra-booking").to_string();
    let urls = json_of(&app, &["urls"]);
    let listed = urls["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "optimantra-booking")
        .unwrap();
    assert_eq!(listed["url"], old_url.as_str());
    assert_eq!(urls["next_cursor"], Value::Null);
    let rotated = json_of(&app, &["rotate", "optimantra-booking"]);
    assert_eq!(rotated["id"], "optimantra-booking");
    let new_url = rotated["url"].as_str().unwrap();
    assert_ne!(new_url, old_url);
    assert_eq!(app.workflow("optimantra-booking").await["url"], new_url);
    // A GET: a POST's unread body may race the 404 with the connection's close.
    let (status, _) = app.send(app.client.get(&old_url)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn tables_align_ids_in_full_and_hint_at_the_next_page() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let a = app
            .post_sample("optimantra-booking", "optimantra/booking.json")
            .await;
        ids.push(a["request_id"].as_str().unwrap().to_string());
        app.wait_runs_of(&a).await;
    }
    let table = text_of(&app, &["requests", "--limit", "1"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("RECEIVED"), "{table}");
    let col = lines[0].find("ID").unwrap();
    assert_eq!(&lines[1][col..col + 26], ids[1], "{table}");
    // The cursor is the last id shown, sealed by the server (`ID.TAG`).
    let hint = format!(
        "1 shown; more: hookflow requests --limit 1 --cursor {}.",
        ids[1]
    );
    assert!(lines[2].starts_with(&hint), "{table}");
    let runs = text_of(&app, &["runs"]);
    let header = runs.lines().next().unwrap();
    let status_col = header.find("STATUS").unwrap();
    for line in runs.lines().skip(1) {
        assert_eq!(&line[status_col..status_col + 9], "succeeded", "{runs}");
    }
}

#[tokio::test]
async fn reference_show_prints_paths_templates_and_examples_ready_to_paste() {
    let app = spawn_app().await;
    app.post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let out = text_of(&app, &["reference", "show", "optimantra-booking"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"$.email\t{{ trigger.email }}\tjane.doe@example.com"),
        "{out}"
    );
    assert!(
        lines.contains(&"$.bookedOnline\t{{ trigger.bookedOnline }}\ttrue"),
        "{out}"
    );
    assert_eq!(lines.len(), 13, "one line per field: {out}");
}

#[tokio::test]
async fn send_and_runs_show_print_the_warning_of_a_dropped_phone() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("uk.json");
    let payload = r#"{"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com", "phone": "+44 7700 900123", "appointmentDate": "2026-12-03", "appointmentType": "Check-up", "appointmentTime": "9:00"}"#;
    std::fs::write(&file, payload).unwrap();
    let out = hookflow(&app)
        .args(["send", "optimantra-booking"])
        .arg(&file)
        .arg("--workflows")
        .arg(repo().join("workflows"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let find = stdout
        .lines()
        .position(|l| l.contains("find_contact succeeded"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let warning = stdout.lines().nth(find + 1).unwrap();
    assert!(
        warning.trim_start().starts_with("warning: phone ignored")
            && warning.contains("+44 7700 900123"),
        "{stdout}"
    );
    let run_id = app.runs("workflow=optimantra-booking").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let timeline = text_of(&app, &["runs", "show", &run_id]);
    assert!(timeline.contains("warning: phone ignored"), "{timeline}");
    assert!(timeline.contains("input   {"), "{timeline}");
}
