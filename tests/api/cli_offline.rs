//! The read-only CLI views without a server: `--data DIR` is read directly and every view
//! prints exactly what the server's API answered for the same data; a dir a server holds is
//! refused with exit 2.

use crate::helpers::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// `hookflow --server SERVER ARGS --data DATA` (and the shipped workflows where one is named).
fn hookflow(server: &str, data: &Path, args: &[&str]) -> Output {
    let mut cmd = cli();
    cmd.args(["--server", server])
        .args(args)
        .arg("--data")
        .arg(data);
    if args[0] == "reference" || args[0] == "rotate" {
        cmd.arg("--workflows").arg(repo().join("workflows"));
    }
    cmd.output().unwrap()
}

/// Stdout of a command that must succeed.
fn stdout_of(server: &str, data: &Path, args: &[&str]) -> String {
    stdout_ok(&hookflow(server, data, args))
}

/// The one JSON document a `--json` command printed.
fn json_of(server: &str, data: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let stdout = stdout_of(server, data, &with_json);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

#[tokio::test]
async fn without_a_server_the_views_print_what_the_api_answered_for_the_same_data() {
    let mut app = spawn_app().await;
    let first = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let answer = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let run_id = accepted_run_ids(&answer)[0].clone();
    app.wait_run_done(&run_id).await;
    for earlier in accepted_run_ids(&first) {
        app.wait_run_done(&earlier).await;
    }
    let request_id = answer["request_id"].as_str().unwrap().to_string();
    // Delivery moves emails after their runs: wait until none is left to change.
    let email_id = eventually("every email to be sent", Duration::from_secs(10), || {
        let app = &app;
        async move {
            let all = app.get_ok("/api/outbox?limit=50").await;
            let items = all["items"].as_array().unwrap().clone();
            (!items.is_empty() && items.iter().all(|e| e["state"] == "sent"))
                .then(|| items[0]["id"].as_str().unwrap().to_string())
        }
    })
    .await;

    // What the server answers, through its API and through the CLI's tables.
    let data = app.data.path().to_path_buf();
    let api_page = app.get_ok("/api/requests?limit=1").await;
    let cursor = api_page["next_cursor"].as_str().unwrap().to_string();
    let expected: Vec<(Vec<&str>, Value)> = vec![
        (vec!["requests"], app.get_ok("/api/requests?limit=50").await),
        (
            vec![
                "requests",
                "--workflow",
                "optimantra-booking",
                "--status",
                "accepted",
            ],
            app.get_ok("/api/requests?limit=50&workflow=optimantra-booking&status=accepted")
                .await,
        ),
        (vec!["requests", "--limit", "1"], api_page.clone()),
        (
            vec!["requests", "--limit", "1", "--cursor", &cursor],
            app.get_ok(&format!("/api/requests?limit=1&cursor={cursor}"))
                .await,
        ),
        (
            vec!["requests", "show", &request_id],
            app.get_ok(&format!("/api/requests/{request_id}")).await,
        ),
        (vec!["runs"], app.get_ok("/api/runs?limit=50").await),
        (
            vec!["runs", "--status", "succeeded"],
            app.get_ok("/api/runs?limit=50&status=succeeded").await,
        ),
        (
            vec!["runs", "show", &run_id],
            app.get_ok(&format!("/api/runs/{run_id}")).await,
        ),
        (vec!["outbox"], app.get_ok("/api/outbox?limit=50").await),
        (
            vec!["outbox", "--state", "sent"],
            app.get_ok("/api/outbox?limit=50&state=sent").await,
        ),
        (
            vec!["outbox", "show", &email_id],
            app.get_ok(&format!("/api/outbox/{email_id}")).await,
        ),
        (
            vec!["reference", "show", "optimantra-booking"],
            app.workflow("optimantra-booking").await["reference"].clone(),
        ),
    ];
    let tables: Vec<(Vec<&str>, String)> = expected
        .iter()
        .map(|(args, _)| (args.clone(), stdout_of(&app.base, &data, args)))
        .collect();
    assert!(tables[0].1.contains(&request_id), "{}", tables[0].1);
    app.stop();

    for (args, api) in &expected {
        let offline = json_of(DEAD, &data, args);
        assert_eq!(&offline, api, "{args:?}");
    }
    // The documents hold what was sent, not just two empty lists that agree.
    assert_eq!(expected[0].1["items"][0]["id"], request_id.as_str());
    assert_eq!(expected[4].1["items"][0]["run_id"], run_id.as_str());
    assert_eq!(expected[7].1["id"], run_id.as_str());
    assert!(expected[10].1["message"]
        .as_str()
        .unwrap()
        .contains("Subject: See you on 2026-12-03, Jane"));
    assert_eq!(expected[11].1["request_id"], first["request_id"]);
    for (args, table) in &tables {
        assert_eq!(&stdout_of(DEAD, &data, args), table, "{args:?}");
    }
}

#[tokio::test]
async fn without_a_server_the_clock_shows_the_stored_manual_time_the_server_showed() {
    let mut app = spawn_with(Options {
        args: vec!["--clock".into(), "manual".into()],
        ..Options::default()
    })
    .await;
    let data = app.data.path().to_path_buf();
    stdout_of(&app.base, &data, &["clock", "advance", "3d"]);
    let api = app.get_ok("/api/clock").await;
    app.stop();

    let offline = json_of(DEAD, &data, &["clock", "--clock", "manual"]);
    assert_eq!(offline, api);
    assert_eq!(offline["mode"], "manual");
    let advance = hookflow(DEAD, &data, &["clock", "advance", "1d"]);
    assert_eq!(advance.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&advance.stderr);
    assert!(stderr.contains("only a running server"), "{stderr}");
    // Refusing changed nothing: the stored time is still the one the server showed.
    assert_eq!(json_of(DEAD, &data, &["clock", "--clock", "manual"]), api);
}

#[tokio::test]
async fn a_view_or_change_of_a_data_dir_a_server_holds_exits_2_and_says_pass_server() {
    let app = spawn_app().await;
    let data = app.data.path();
    let views: [&[&str]; 11] = [
        &["requests"],
        &["requests", "show", "01J00000000000000000000000"],
        &["runs"],
        &["runs", "show", "01J00000000000000000000000"],
        &["outbox"],
        &["outbox", "show", "01J00000000000000000000000"],
        &["reference", "show", "optimantra-booking"],
        &["clock"],
        &[
            "reference",
            "set",
            "optimantra-booking",
            "01J00000000000000000000000",
        ],
        &["reference", "clear", "optimantra-booking"],
        &["rotate", "optimantra-booking"],
    ];
    for args in views {
        let out = hookflow(DEAD, data, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("data dir in use; pass --server"),
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn without_a_server_reference_set_clear_and_rotate_change_the_data_dir_for_the_next_start() {
    let mut app = spawn_app().await;
    let first = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let second = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let captured = app.workflow("optimantra-booking").await["reference"].clone();
    assert_eq!(captured["request_id"], first["request_id"]);
    let old_url = app.url("optimantra-booking").to_string();
    app.stop();
    let data = app.data.path().to_path_buf();
    let wf = "optimantra-booking";

    let second_id = second["request_id"].as_str().unwrap();
    let set = json_of(DEAD, &data, &["reference", "set", wf, second_id]);
    assert_eq!(set["request_id"], second_id);
    let refused = hookflow(DEAD, &data, &["reference", "set", wf, "nope"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no request `nope`"));
    assert_eq!(json_of(DEAD, &data, &["reference", "show", wf]), set);
    assert_eq!(
        json_of(DEAD, &data, &["reference", "clear", wf]),
        Value::Null
    );
    let first_id = first["request_id"].as_str().unwrap();
    let again = json_of(DEAD, &data, &["reference", "set", wf, first_id]);
    assert_eq!(again, captured);

    let base = "https://hooks.example.com";
    let rotated = json_of(DEAD, &data, &["rotate", wf, "--public-url", base]);
    assert_eq!(rotated["id"], wf);
    let url = rotated["url"].as_str().unwrap();
    let hook = url
        .strip_prefix("https://hooks.example.com/hooks/")
        .unwrap();
    assert!(!old_url.ends_with(hook), "{old_url} {url}");

    // The next server starts with what was changed offline.
    let app = app.restart().await;
    assert!(
        app.url(wf).ends_with(&format!("/hooks/{hook}")),
        "{}",
        app.url(wf)
    );
    assert_eq!(app.workflow(wf).await["reference"], captured);
    let old_path = &old_url[old_url.find("/hooks/").unwrap()..];
    let (status, _) = app
        .send(app.client.get(format!("{}{old_path}", app.base)))
        .await;
    assert_eq!(status, 404);
}
