//! `hookflow backup` and `hookflow restore` with the real binary: a backup taken while serving
//! (or from the data dir when no server runs) restores into a new data dir whose server keeps
//! every hook URL, contact, reference, request, run and email; a cut backup restores nothing;
//! and a data dir sled cannot open is one clear message naming the way back.

use crate::contacts_csv::post_csv;
use crate::helpers::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const CONTACTS: &str =
    "Email,First Name,Tags\nann.backup@example.com,Ann,VIP\nbob.backup@example.com,Bob,\n";

fn hookflow(args: &[&str]) -> Output {
    cli().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    stdout_ok(&hookflow(args))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The hook id at the end of an inbound URL.
fn hook_id(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

async fn import_contacts(app: &TestApp) {
    let (s, body) = post_csv(app, "text/csv", CONTACTS).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["created"], 2, "{body}");
}

/// `(email, tags)` of every contact, sorted.
async fn contact_list(app: &TestApp) -> Vec<(Value, Value)> {
    let mut list: Vec<(Value, Value)> = app
        .contacts("")
        .await
        .into_iter()
        .map(|c| (c["email"].clone(), c["tags"].clone()))
        .collect();
    list.sort_by_key(|(e, _)| e.to_string());
    list
}

/// Ids of every logged request.
async fn request_ids(app: &TestApp) -> Vec<String> {
    app.get_ok("/api/requests?limit=1000").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_server_that_keeps_every_hook_url_and_record()
{
    let app = spawn_app().await;
    import_contacts(&app).await;
    let booking = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let run = app.wait_runs_of(&booking).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    let email = eventually("the confirmation sent", Duration::from_secs(20), || async {
        let items = app.get_ok("/api/outbox").await["items"].clone();
        (items[0]["state"] == "sent").then_some(items[0].clone())
    })
    .await;
    let reference = app.workflow("optimantra-booking").await["reference"]["request_id"].clone();
    assert_eq!(reference, booking["request_id"]);
    let acked_before = request_ids(&app).await;
    let contacts_before = contact_list(&app).await;

    // Senders keep posting while the backup streams.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, url, stop) = (
            app.client.clone(),
            app.url("embodia-consults").to_string(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut acked = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(sample("embodia/consult-scheduled.json"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                acked += 1;
            }
            acked
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clinic.backup");
    let base = app.base.clone();
    let printed = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || ok(&["backup", path(&file), "--server", &base]))
            .await
            .unwrap()
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        load.await.unwrap() > 0,
        "requests were acknowledged meanwhile"
    );
    assert!(printed.contains("backup written to"), "{printed}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the backup, no partial file"
    );
    // The data dir a server holds cannot be read behind its back.
    let busy = hookflow(&[
        "backup",
        path(&dir.path().join("x")),
        "--server",
        DEAD,
        "--data",
        path(app.data.path()),
    ]);
    assert_eq!(busy.status.code(), Some(2), "{busy:?}");

    let restored = tempfile::tempdir().unwrap();
    let printed = ok(&["restore", path(&file), "--data", path(restored.path())]);
    assert!(printed.contains("restored"), "{printed}");
    let copy = spawn_on(Options::default(), restored).await;

    for (id, url) in &app.urls {
        assert_eq!(hook_id(copy.url(id)), hook_id(url), "{id}'s URL survives");
    }
    let copied_contacts = contact_list(&copy).await;
    for contact in &contacts_before {
        assert!(
            copied_contacts.contains(contact),
            "{contact:?} in {copied_contacts:?}"
        );
    }
    assert_eq!(
        copy.workflow("optimantra-booking").await["reference"]["request_id"],
        reference
    );
    let copied = request_ids(&copy).await;
    for id in &acked_before {
        assert!(
            copied.contains(id),
            "request {id} acknowledged before the backup"
        );
    }
    assert_eq!(
        copy.run(run["id"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    let copied_email = copy
        .get_ok(&format!("/api/outbox/{}", email["id"].as_str().unwrap()))
        .await;
    assert_eq!(copied_email["state"], "sent");
    // The rendered body is kept apart from the email's row: the copy has both.
    let original_email = app
        .get_ok(&format!("/api/outbox/{}", email["id"].as_str().unwrap()))
        .await;
    assert!(copied_email["html"].as_str().unwrap().contains("<html"));
    assert_eq!(copied_email["html"], original_email["html"]);
    assert_eq!(copied_email["message"], original_email["message"]);

    // A sender's old URL, on the restored server, is accepted and runs.
    let old_url = format!(
        "{}/hooks/{}",
        copy.base,
        hook_id(app.url("optimantra-booking"))
    );
    let (status, answer) = copy
        .send(
            copy.client
                .post(old_url)
                .header("content-type", "application/json")
                .body(sample("optimantra/booking.json")),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(copy.wait_runs_of(&answer).await[0]["status"], "succeeded");
}

#[tokio::test]
async fn a_backup_without_a_server_reads_the_data_dir_and_a_cut_copy_restores_nothing() {
    let mut app = spawn_app().await;
    import_contacts(&app).await;
    let before = contact_list(&app).await;
    app.stop();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offline.backup");
    ok(&[
        "backup",
        path(&file),
        "--server",
        DEAD,
        "--data",
        path(app.data.path()),
    ]);

    let restored = dir.path().join("restored");
    ok(&["restore", path(&file), "--data", path(&restored)]);
    let listed = ok(&[
        "contacts",
        "list",
        "--json",
        "--server",
        DEAD,
        "--data",
        path(&restored),
    ]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let mut emails: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ann.backup@example.com", "bob.backup@example.com"]);
    assert_eq!(before.len(), 2);

    let again = hookflow(&["restore", path(&file), "--data", path(&restored)]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not empty"),
        "{again:?}"
    );

    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = dir.path().join("from-cut");
    let out = hookflow(&["restore", path(&cut), "--data", path(&target)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("truncated") || err.contains("damaged"),
        "{err}"
    );
    assert!(!target.exists(), "nothing left behind");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["cut.backup", "offline.backup", "restored"]);
}

#[tokio::test]
async fn a_data_dir_sled_cannot_open_is_one_clear_message_with_the_way_to_restore() {
    let mut app = spawn_app().await;
    app.stop();
    let data = app.data.path();
    std::fs::write(
        data.join("sled").join("conf"),
        b"\x07garbage, not sled's settings\x00\xff",
    )
    .unwrap();

    let (status, err) = crate::start_up::serve_refused_on(data, &[], &[("RUST_BACKTRACE", "1")]);
    assert!(!status.success());
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains(&format!("cannot open the data dir {}", data.display())),
        "{err}"
    );
    assert!(err.contains("hookflow restore FILE --data"), "{err}");
    for noise in ["panicked", "backtrace", "sled version earlier", "ERROR"] {
        assert!(!err.contains(noise), "{noise} in {err}");
    }

    let offline = hookflow(&["contacts", "list", "--server", DEAD, "--data", path(data)]);
    let err = String::from_utf8_lossy(&offline.stderr);
    assert!(!offline.status.success());
    assert!(err.contains("cannot open the data dir"), "{err}");
    assert!(err.contains("hookflow restore FILE --data"), "{err}");
}
