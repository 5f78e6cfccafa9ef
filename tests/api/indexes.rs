//! Lists served from the index trees: runs by status follow their status changes, and a data
//! dir from before the indexes (no index trees) lists the same contacts and runs after a
//! restart, the indexes built once at start-up.

use crate::contacts_csv::post_csv;
use crate::helpers::*;
use serde_json::{json, Value};

const TAGGED: &str = r#"name: Tagged
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - add_tag: "{{ trigger.tag }}"
  - wait: 1d
  - add_tag: later
"#;

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of every page of `path`, one item a page, following the cursors.
async fn paged(app: &TestApp, path: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get_ok(&format!("{path}&limit=1{cursor}")).await;
        seen.extend(ids(page["items"].as_array().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return seen,
        }
    }
}

async fn post(app: &TestApp, workflow: &str, body: Value) -> String {
    let (status, answer) = app
        .post_hook(workflow, "application/json", body.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    accepted_run_ids(&answer).remove(0)
}

async fn manual_app() -> (tempfile::TempDir, TestApp) {
    let dir = workflows_dir(&[("tagged.yaml", TAGGED)]);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        args: vec!["--clock".into(), "manual".into()],
        ..Options::default()
    })
    .await;
    (dir, app)
}

#[tokio::test]
async fn runs_listed_by_status_follow_each_status_change() {
    let (_dir, app) = manual_app().await;
    let a = post(
        &app,
        "tagged",
        json!({"email": "a@example.com", "tag": "x"}),
    )
    .await;
    // No email: find_contact has no key left and fails the run.
    let failed = post(&app, "tagged", json!({"tag": "x"})).await;
    let b = post(
        &app,
        "tagged",
        json!({"email": "b@example.com", "tag": "y"}),
    )
    .await;
    for id in [&a, &failed, &b] {
        app.wait_run_done(id).await;
    }
    assert_eq!(
        ids(&app.runs("status=waiting").await),
        [b.clone(), a.clone()]
    );
    assert_eq!(ids(&app.runs("status=failed").await), [failed.as_str()]);
    assert!(app.runs("status=succeeded").await.is_empty());
    let contact_a = app.run(&a).await["contact_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ids(&app.runs(&format!("contact={contact_a}")).await),
        [a.as_str()]
    );
    assert_eq!(
        paged(&app, "/api/runs?workflow=tagged&status=waiting").await,
        [b.clone(), a.clone()],
        "pages of one follow the cursor"
    );

    app.advance_clock("1d").await;
    eventually(
        "the waits to finish",
        std::time::Duration::from_secs(20),
        || async { app.runs("status=waiting").await.is_empty().then_some(()) },
    )
    .await;
    assert_eq!(ids(&app.runs("status=succeeded").await), [b, a]);
    assert_eq!(
        ids(&app.runs("status=failed&workflow=tagged").await),
        [failed]
    );
    assert!(app.runs("status=running").await.is_empty());
}

#[tokio::test]
async fn a_data_dir_without_index_trees_lists_the_same_contacts_and_runs_after_a_restart() {
    let (_dir, mut app) = manual_app().await;
    let mut csv = String::from("First Name,Last Name,Email,Tags\n");
    for i in 0..60 {
        let tags = if i % 3 == 0 { "VIP;lead" } else { "lead" };
        let first = ["Ann", "Bob", "Joanna"][i % 3];
        csv += &format!("{first},Lee{i},p{i}@example.com,{tags}\n");
    }
    let (status, report) = post_csv(&app, "text/csv", &csv).await;
    assert_eq!(
        (status, report["created"].clone()),
        (200, json!(60)),
        "{report}"
    );
    let failed = post(&app, "tagged", json!({"tag": "x"})).await;
    let waiting = post(
        &app,
        "tagged",
        json!({"email": "p1@example.com", "tag": "VIP"}),
    )
    .await;
    app.wait_run_done(&failed).await;
    app.wait_run_done(&waiting).await;

    let queries = [
        "tag=vip",
        "tag=VIP&tag=lead",
        "q=ann",
        "q=anna lee1",
        "q=lee4&tag=lead",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(ids(&app.contacts(q).await));
    }
    assert_eq!(before[0].len(), 21, "20 imported and one tagged by the run");
    assert!(before.iter().all(|list| !list.is_empty()), "{before:?}");
    let runs_before = [
        ids(&app.runs("status=failed").await),
        ids(&app.runs("status=waiting").await),
    ];
    assert_eq!(runs_before, [vec![failed], vec![waiting]]);

    // What an older hookflow leaves behind: the same records, no index trees.
    app.stop();
    {
        let db = sled::open(app.data.path().join("sled")).unwrap();
        assert!(db.drop_tree("contacts_index").unwrap());
        assert!(db.drop_tree("runs_index").unwrap());
        db.flush().unwrap();
    }
    let app = app.restart().await;
    server_log_with(app.data.path(), "built the runs index").await;
    server_log_with(app.data.path(), "built the contacts index").await;
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(&ids(&app.contacts(q).await), want, "{q}");
    }
    let runs_after = [
        ids(&app.runs("status=failed").await),
        ids(&app.runs("status=waiting").await),
    ];
    assert_eq!(runs_after, runs_before);
}
