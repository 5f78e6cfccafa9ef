//! SIGKILL while runs are in progress: after a restart every accepted item has run exactly once,
//! counted on the contacts' timelines, not just by the contacts that exist.

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Twelve changing steps per run, so a kill lands inside runs as well as between them.
const LONG: &str = r#"name: Long
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - update_contact: {custom: {n: "{{ trigger.n }}"}}
  - add_tag: T1
  - add_tag: T2
  - add_tag: T3
  - add_tag: T4
  - add_tag: T5
  - add_tag: T6
  - add_tag: T7
  - add_tag: T8
  - add_tag: T9
  - add_tag: T10
"#;
const STEPS: usize = 12;
const ITEMS_PER_REQUEST: usize = 10;

/// Email → run id of every item the server acknowledged.
type Acked = Arc<Mutex<HashMap<String, String>>>;

#[tokio::test]
async fn every_accepted_item_runs_exactly_once_across_a_sigkill_mid_run() {
    let (mut app, _dir) = spawn_workflows(&[("long.yaml", LONG)]).await;
    let url = Arc::new(app.url("long").to_string());
    let acked: Acked = Arc::default();
    let mut senders = Vec::new();
    for sender in 0..4 {
        let (url, client, acked) = (url.clone(), app.client.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            for n in 0..100_000 {
                let items: Vec<Value> = (0..ITEMS_PER_REQUEST)
                    .map(|i| json!({"email": format!("s{sender}n{n}i{i}@example.com"), "n": n}))
                    .collect();
                let Ok(resp) = client.post(url.as_str()).json(&items).send().await else {
                    break;
                };
                if resp.status() != 200 {
                    break;
                }
                let Ok(answer) = resp.json::<Value>().await else {
                    break;
                };
                let ids = accepted_run_ids(&answer);
                assert_eq!(ids.len(), ITEMS_PER_REQUEST, "{answer}");
                let mut acked = acked.lock().unwrap();
                for (item, id) in items.iter().zip(ids) {
                    acked.insert(item["email"].as_str().unwrap().to_string(), id);
                }
            }
        }));
    }

    // Kill while the worker is behind: some runs recorded, more still queued.
    eventually(
        "a backlog of queued runs behind finished ones",
        Duration::from_secs(60),
        || async {
            let n = acked.lock().unwrap().len();
            if n < 200 {
                return None;
            }
            let queued = app.get_ok("/api/runs?status=queued&limit=5").await;
            let done = app.get_ok("/api/runs?status=succeeded&limit=5").await;
            let backlog = !queued["items"].as_array().unwrap().is_empty();
            let started = !done["items"].as_array().unwrap().is_empty();
            (backlog && started).then_some(())
        },
    )
    .await;
    app.kill9();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200, "{} acknowledged", acked.len());

    let app = app.restart().await;
    eventually("the backlog to drain", Duration::from_secs(120), || async {
        let open = app.get_ok("/api/runs?status=queued&limit=1").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
            && app.get_ok("/api/runs?status=running&limit=1").await["items"]
                .as_array()
                .unwrap()
                .is_empty();
        open.then_some(())
    })
    .await;

    let runs = app.runs("workflow=long").await;
    let mut records: HashMap<String, usize> = HashMap::new();
    for r in &runs {
        *records
            .entry(r["id"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(r["status"], "succeeded", "{r}");
        assert_eq!(r["steps"].as_array().unwrap().len(), STEPS, "{r}");
    }
    let contacts: HashMap<String, Value> = app
        .contacts("")
        .await
        .into_iter()
        .map(|c| (c["email"].as_str().unwrap().to_string(), c))
        .collect();
    assert_eq!(contacts.len(), runs.len(), "one contact per run, no more");
    for (email, run_id) in &acked {
        assert_eq!(records.get(run_id), Some(&1), "one record of run {run_id}");
        let contact = contacts
            .get(email)
            .unwrap_or_else(|| panic!("no contact for acknowledged {email}"));
        let contact = app.contact(contact["id"].as_str().unwrap()).await;
        let timeline = contact["timeline"].as_array().unwrap();
        let steps: HashSet<_> = timeline.iter().map(|e| e["step"].clone()).collect();
        assert_eq!(
            (timeline.len(), steps.len()),
            (STEPS, STEPS),
            "each step of {run_id} applied exactly once on {email}: {timeline:?}"
        );
        assert!(
            timeline.iter().all(|e| e["run_id"] == run_id.as_str()),
            "{timeline:?}"
        );
        assert_eq!(contact["tags"].as_array().unwrap().len(), STEPS - 2);
    }
}

#[tokio::test]
async fn finished_runs_and_their_contacts_are_unchanged_after_a_graceful_restart() {
    let mut app = spawn_app().await;
    let answer = app
        .post_sample("embodia-consults", "embodia/consult-scheduled.json")
        .await;
    let before = app.wait_runs_of(&answer).await;
    let emily = app.contact_by_email("emily.chen@example.com").await;
    app.stop();
    let app = app.restart().await;
    for run in &before {
        assert_eq!(&app.run(run["id"].as_str().unwrap()).await, run);
    }
    assert_eq!(app.contact_by_email("emily.chen@example.com").await, emily);
    assert_eq!(app.runs("").await.len(), 2, "nothing ran again");
}

/// One email per item and nothing after it.
const MAIL_ONE: &str = r#"name: Mail one
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - send_email: {subject: "Hello", body: "Your visit is booked."}
"#;

/// The `.eml` files of the outbox dir.
fn eml_files(data: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(data.join("outbox"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".eml") && !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_email_file_written_just_before_a_sigkill_is_not_written_again_under_a_new_id() {
    let (mut app, _dir) = spawn_workflows(&[("mail.yaml", MAIL_ONE)]).await;
    let resp = app
        .client
        .post(app.url("mail"))
        .json(&json!({"email": "once@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Nothing else arrives, so nothing else flushes: the kill follows the file at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while eml_files(app.data.path()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no .eml was written");
        std::thread::sleep(Duration::from_micros(200));
    }
    app.kill9();
    let written = eml_files(app.data.path());

    let app = app.restart().await;
    let sent = eventually("the email sent", Duration::from_secs(20), || async {
        let items = app.get_ok("/api/outbox").await["items"].clone();
        let items = items.as_array().unwrap().clone();
        (items.len() == 1 && items[0]["state"] == "sent").then_some(items)
    })
    .await;
    let id = sent[0]["id"].as_str().unwrap();
    assert_eq!(
        eml_files(app.data.path()),
        [format!("{id}.eml")],
        "one outbox row and one file for the one email (written before the kill: {written:?})"
    );
    assert_eq!(written, [format!("{id}.eml")]);
}
