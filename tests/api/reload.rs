//! Editing workflow files while the server runs: new requests use the new file.

use crate::helpers::*;
use std::time::Duration;

fn tagger(name: &str, tag: &str) -> String {
    format!("name: {name}\nsteps:\n  - find_contact: {{email: \"{{{{ trigger.email }}}}\", create: true}}\n  - add_tag: {tag}\n")
}

#[tokio::test]
async fn an_edited_workflow_file_applies_to_the_next_request_without_a_restart() {
    let (mut app, dir) = spawn_workflows(&[("tagger.yaml", &tagger("Tagger v1", "First"))]).await;
    let url_before = app.url("tagger").to_string();
    let (_, a) = app
        .post_hook(
            "tagger",
            "application/json",
            r#"{"email": "one@example.com"}"#,
        )
        .await;
    let run = app
        .wait_run_done(a["items"][0]["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["steps"][1]["input"]["tags"][0], "First");

    std::fs::write(
        dir.path().join("tagger.yaml"),
        tagger("Tagger v2", "Second"),
    )
    .unwrap();
    std::fs::write(dir.path().join("fresh.yaml"), tagger("Fresh", "New")).unwrap();
    eventually("the reload", Duration::from_secs(10), || async {
        let wf = app.workflow("tagger").await;
        (wf["name"] == "Tagger v2").then_some(())
    })
    .await;
    let (_, a) = app
        .post_hook(
            "tagger",
            "application/json",
            r#"{"email": "two@example.com"}"#,
        )
        .await;
    let run = app
        .wait_run_done(a["items"][0]["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["steps"][1]["input"]["tags"][0], "Second");
    app.refresh_urls().await;
    assert_eq!(app.url("tagger"), url_before, "the URL survives edits");
    assert!(
        app.urls.contains_key("fresh"),
        "a new file gets its own URL"
    );

    std::fs::write(
        dir.path().join("tagger.yaml"),
        "name: Broken\nsteps:\n  - add_tags: x\n",
    )
    .unwrap();
    let wf = eventually(
        "the broken file's error",
        Duration::from_secs(10),
        || async {
            let wf = app.workflow("tagger").await;
            wf["error"].is_object().then_some(wf)
        },
    )
    .await;
    assert_eq!(wf["error"]["line"], 3, "{wf}");
    assert!(wf["error"]["message"]
        .as_str()
        .unwrap()
        .contains("add_tags"));
}

#[tokio::test]
async fn reading_the_workflow_files_does_not_trigger_reloads() {
    let (app, dir) = spawn_workflows(&[("tagger.yaml", &tagger("Tagger", "First"))]).await;
    // Other programs (editors, `hookflow check`, other test servers) read the files all the time.
    for _ in 0..20 {
        let _ = std::fs::read_to_string(dir.path().join("tagger.yaml")).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let reloads = server_log(app.data.path())
        .matches("workflows reloaded")
        .count();
    assert_eq!(reloads, 0, "reads are not changes");
    std::fs::write(
        dir.path().join("tagger.yaml"),
        tagger("Tagger v2", "Second"),
    )
    .unwrap();
    eventually("one reload", Duration::from_secs(10), || async {
        (server_log(app.data.path())
            .matches("workflows reloaded")
            .count()
            >= 1)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let reloads = server_log(app.data.path())
        .matches("workflows reloaded")
        .count();
    assert!(
        reloads <= 2,
        "a write reloads once or twice, not forever: {reloads}"
    );
}
