//! The command line as a user runs it: `check`, `urls`, `send`, and what the logs never say.

use crate::helpers::*;
use std::time::Duration;

#[test]
fn check_passes_the_shipped_workflows() {
    let out = check_command(repo().join("workflows"), DEAD)
        .output()
        .unwrap();
    let stdout = stdout_ok(&out);
    assert!(!stdout.contains("error:"), "{stdout}");
}

#[test]
fn check_points_at_the_line_and_column_of_each_error_and_exits_1() {
    let dir = workflows_dir(&[
        ("good.yaml", "name: Good\nsteps:\n  - set_dnd: true\n"),
        (
            "bad.yaml",
            "name: Bad\nsteps:\n  - find_contact: {email: \"{{ emial }}\", create: true}\n",
        ),
        ("sequences/seq.yaml", "name: Seq\nsteps:\n  - wait: 3x\n"),
    ]);
    let out = check_command(dir.path(), DEAD).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let bad = lines.iter().find(|l| l.contains("bad.yaml")).unwrap();
    assert!(
        bad.contains("bad.yaml:3:") && bad.contains(": error: ") && bad.contains("emial"),
        "{bad}"
    );
    let seq = lines.iter().find(|l| l.contains("seq.yaml")).unwrap();
    assert!(seq.contains("seq.yaml:3:") && seq.contains("3x"), "{seq}");
}

#[tokio::test]
async fn check_warns_where_a_mapping_path_matches_nothing_in_the_reference() {
    let (app, dir) = spawn_workflows(&[(
        "opti.yaml",
        "name: Opti\nmapping:\n  email: $.email\n  phone: $.phoneNumber\nsteps:\n  - set_dnd: false\n",
    )]).await;
    app.post_hook(
        "opti",
        "application/json",
        r#"{"email": "a@example.com", "phone": "555"}"#,
    )
    .await;
    let out = cli()
        .args(["check", "--server", &app.base])
        .arg("--workflows")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "warnings alone do not fail: {stdout}");
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(
        warnings[0].contains("opti.yaml:4:") && warnings[0].contains("$.phoneNumber"),
        "{stdout}"
    );
}

#[tokio::test]
async fn send_signs_with_the_workflows_auth_and_prints_the_run() {
    let (app, dir) = spawn_workflows_env(&[(
        "signed.yaml",
        "name: Signed\ntrigger:\n  inbound_webhook:\n    auth: {type: hmac, header: X-Signature, secret: \"${SIGN_SECRET}\", prefix: \"sha256=\"}\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n  - add_tag: Signed\n",
    )], &[("SIGN_SECRET", "shh")]).await;
    let payload = dir.path().join("p.json");
    std::fs::write(&payload, r#"{"email": "signed@example.com"}"#).unwrap();
    let run = |extra: &[&str]| {
        cli()
            .args(["send", "signed"])
            .arg(&payload)
            .args(["--server", &app.base])
            .arg("--workflows")
            .arg(dir.path())
            .args(extra)
            .env("SIGN_SECRET", "shh")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with("200 "), "{stdout}");
    assert!(
        stdout.contains("succeeded") && stdout.contains("add_tag"),
        "{stdout}"
    );
    let out = run(&["--no-auth"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("401 "));
}

#[tokio::test]
async fn logs_never_carry_bodies_auth_headers_or_hook_ids() {
    let (app, _dir) = spawn_workflows_env(&[(
        "secret.yaml",
        "name: Secret\ntrigger:\n  inbound_webhook:\n    auth: {type: bearer, token: \"${TOK}\"}\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n",
    )], &[
            ("TOK", "tok-XYZZY"),
            ("HOOKFLOW_LOG", "debug"),
        ]).await;
    let hook = app.url("secret").rsplit('/').next().unwrap().to_string();
    let send = |token: &'static str, body: &'static str| {
        app.client
            .post(app.url("secret"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
    };
    let (_, a) = app
        .send(send(
            "tok-XYZZY",
            r#"{"email": "patient.zeta@example.com"}"#,
        ))
        .await;
    app.wait_run_done(a["items"][0]["run_id"].as_str().unwrap())
        .await;
    app.send(send(
        "wrong-PLUGH",
        r#"{"email": "patient.eta@example.com"}"#,
    ))
    .await;
    app.send(send(
        "tok-XYZZY",
        r#"{"email": "patient.theta@example.com" // broken"#,
    ))
    .await;
    // Every request's line is in before the log is searched for what must not be there.
    let data = app.data.path().to_path_buf();
    let log = eventually("the three requests' lines", Duration::from_secs(10), || {
        let log = server_log(&data);
        let all = log.contains("request stored") && log.matches("request rejected").count() >= 2;
        async move { all.then_some(log) }
    })
    .await;
    for secret in [
        hook.as_str(),
        "tok-XYZZY",
        "wrong-PLUGH",
        "patient.zeta",
        "patient.eta",
        "patient.theta",
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}

#[tokio::test]
async fn replay_runs_a_logged_request_again_as_a_new_one() {
    let (app, _dir) = spawn_workflows(&[(
        "tagger.yaml",
        "name: Tagger\ntrigger:\n  inbound_webhook:\n    dedupe: $.id\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n  - add_tag: \"{{ trigger.tag }}\"\n",
    )]).await;
    let (_, first) = app
        .post_hook(
            "tagger",
            "application/json",
            r#"{"id": 1, "email": "r@example.com", "tag": "Replayed"}"#,
        )
        .await;
    let first_run = app
        .wait_run_done(first["items"][0]["run_id"].as_str().unwrap())
        .await;
    let contact_id = first_run["contact_id"].as_str().unwrap().to_string();
    let out = cli()
        .args([
            "replay",
            first["request_id"].as_str().unwrap(),
            "--json",
            "--server",
            &app.base,
        ])
        .output()
        .unwrap();
    stdout_ok(&out);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let answer = &printed["answer"];
    assert_eq!(
        answer["status"], "accepted",
        "a replay is not deduplicated: {answer}"
    );
    assert_ne!(answer["request_id"], first["request_id"]);
    assert_eq!(printed["runs"][0]["status"], "succeeded");
    assert_eq!(
        printed["runs"][0]["steps"][1]["status"], "noop",
        "the tag is already there"
    );
    let logged = app.request(answer["request_id"].as_str().unwrap()).await;
    assert_eq!(logged["replay_of"], first["request_id"]);
    assert_eq!(printed["runs"][0]["contact_id"], contact_id.as_str());
    let (s, _) = app
        .send(
            app.client
                .post(format!("{}/api/requests/nope/replay", app.base)),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn simulate_shows_what_a_run_would_do_and_changes_nothing() {
    let (app, dir) = spawn_workflows(&[(
        "welcome.yaml",
        "name: Welcome\nmapping:\n  email: $.email\nsteps:\n  - find_contact: {email: \"{{ email }}\", create: true}\n  - add_tag: Welcomed\n  - send_email: {subject: \"Hi\", body: \"Hello\"}\n  - update_contact: {first_name: \"{{ trigger.nope }}\"}\n",
    )]).await;
    let payload = dir.path().join("p.json");
    std::fs::write(&payload, r#"{"email": "dry@example.com"}"#).unwrap();
    let out = cli()
        .args(["simulate", "welcome", "--json", "--server", &app.base])
        .arg(&payload)
        .output()
        .unwrap();
    stdout_ok(&out);
    let trace: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = &trace["items"][0];
    assert_eq!(item["mapping"]["email"], "dry@example.com");
    let steps = item["run"]["steps"].as_array().unwrap();
    let statuses: Vec<&str> = steps
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["succeeded", "succeeded", "succeeded", "failed"],
        "{trace}"
    );
    assert_eq!(steps[0]["output"]["created"], true);
    assert!(steps[3]["error"].as_str().unwrap().contains("nope"));
    assert_eq!(item["run"]["status"], "failed");
    // Nothing was written, queued or sent.
    assert!(app.get_ok("/api/contacts").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get_ok("/api/outbox").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get_ok("/api/requests").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get_ok("/api/runs").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn reset_empties_the_working_data_and_all_also_forgets_urls() {
    let (app, _dir) = spawn_workflows(&[(
        "tagger.yaml",
        "name: Tagger\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n  - send_email: {subject: Hi, body: Hello}\n",
    )]).await;
    let url = app.url("tagger").to_string();
    let (_, a) = app
        .post_hook(
            "tagger",
            "application/json",
            r#"{"email": "reset@example.com"}"#,
        )
        .await;
    app.wait_run_done(a["items"][0]["run_id"].as_str().unwrap())
        .await;
    let reset = |extra: &[&str]| {
        cli()
            .args(["reset", "--server", &app.base])
            .args(extra)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let refused = reset(&[]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "no confirmation, nothing changed"
    );
    assert_eq!(
        app.get_ok("/api/contacts").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let out = reset(&["--yes"]);
    stdout_ok(&out);
    for path in ["/api/contacts", "/api/requests", "/api/runs", "/api/outbox"] {
        assert!(
            app.get_ok(path).await["items"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{path} not empty"
        );
    }
    assert_eq!(
        app.workflow("tagger").await["url"],
        url.as_str(),
        "hook ids are kept"
    );
    assert_eq!(
        app.workflow("tagger").await["reference"]["request_id"],
        a["request_id"],
        "the reference is kept"
    );

    let out = reset(&["--yes", "--all"]);
    assert!(out.status.success());
    let wf = app.workflow("tagger").await;
    assert_ne!(wf["url"], url.as_str(), "a new URL");
    assert!(wf["reference"].is_null());
    let (s, _) = app.send(app.client.post(&url).body("{}")).await;
    assert_eq!(s, 404, "the old URL is gone");
}
