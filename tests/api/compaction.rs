//! Compaction (`serve --compact-above`, `hookflow compact`): once sled's file has doubled, the
//! server restarts in place on the same socket and process id, copies its live records into a
//! new file and goes on serving; senders see answers, never a refused connection.

use crate::helpers::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn sled_bytes(data: &Path) -> u64 {
    std::fs::metadata(data.join("sled/db")).unwrap().len()
}

/// The OptiMantra booking sample for another patient (no phone: each email is a new contact).
fn booking(email: &str) -> Value {
    let mut body: Value = serde_json::from_slice(&sample("optimantra/booking.json")).unwrap();
    body["email"] = json!(email);
    body.as_object_mut().unwrap().remove("phone");
    body
}

async fn booked(app: &TestApp, n: usize) {
    for i in 0..n {
        let answer = app
            .post_json("optimantra-booking", &booking(&format!("p{i}@example.com")))
            .await;
        app.wait_runs_of(&answer).await;
    }
}

async fn contact_ids(app: &TestApp) -> Vec<String> {
    let page = app.get_ok("/api/contacts?limit=1000").await;
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// An answer a sender got (status, request id, sent after the clock advance answered), or the
/// error it saw.
type Answer = Result<(u16, String, bool), String>;

/// Posts bookings one connection each until `stop`; returns every answer.
fn sender(
    url: String,
    advanced: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Vec<Answer>> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut answers = Vec::new();
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            i += 1;
            let body = booking(&format!("late{i}@example.com"));
            let after = advanced.load(Ordering::SeqCst);
            let answer = match client.post(&url).json(&body).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    let id = body["request_id"].as_str().unwrap_or("").to_string();
                    Ok((status, id, after))
                }
                Err(e) => Err(e.to_string()),
            };
            answers.push(answer);
            sent.fetch_add(1, Ordering::SeqCst);
        }
        answers
    })
}

/// A manual clock, one day of retention and compaction past 1 MiB: a test's store becomes due
/// after a clock advance.
pub fn compacting_soon() -> Options {
    Options {
        args: [
            "--clock",
            "manual",
            "--retain",
            "1d",
            "--compact-above",
            "1MiB",
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_store_whose_file_doubled_is_compacted_in_place_while_senders_keep_getting_answers() {
    let mut app = spawn_with(compacting_soon()).await;
    // Records are compressed: 150 bookings left the file only just above the floor below.
    booked(&app, 300).await;
    let pid = app.child.id();
    let urls = app.urls.clone();
    let contacts = contact_ids(&app).await;
    let before = sled_bytes(app.data.path());
    assert!(
        before > 2 << 20,
        "the test needs a file above the floor: {before}"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let advanced = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let sending = sender(
        app.url("optimantra-booking").to_string(),
        advanced.clone(),
        stop.clone(),
        sent.clone(),
    );
    // Two days on, the sweep deletes the bookings' requests, runs and emails; the check after it
    // finds the file above 1 MiB with no compaction yet.
    app.advance_clock("2d").await;
    advanced.store(true, Ordering::SeqCst);
    let data = app.data.path().to_path_buf();
    eventually("the store to be compacted", Duration::from_secs(60), || {
        let log = server_log(&data);
        async move { log.contains("compacted the store").then_some(()) }
    })
    .await;
    // A fresh client: the old process closed the pooled connections as it stopped.
    app.client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // Five more answers from the new process before the sender stops.
    let answered = sent.load(Ordering::SeqCst);
    eventually("answers after the restart", Duration::from_secs(30), || {
        let sent = sent.clone();
        async move { (sent.load(Ordering::SeqCst) >= answered + 5).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let answers = sending.await.unwrap();

    assert_eq!(app.child.id(), pid);
    assert!(
        app.child.try_wait().unwrap().is_none(),
        "the server process ended"
    );
    let after = sled_bytes(&data);
    assert!(after * 2 < before, "sled file {before} -> {after} bytes");
    server_log_with(&data, "restarting to compact it").await;
    app.refresh_urls().await;
    assert_eq!(app.urls, urls, "hook URLs must not change");
    let now = contact_ids(&app).await;
    assert!(
        contacts.iter().all(|c| now.contains(c)),
        "a contact was lost"
    );
    assert!(!answers.is_empty());
    // Each was answered; those sent before the advance answered may have been received
    // before it, and retention may have deleted them since.
    let mut kept = 0;
    for answer in &answers {
        let (status, request_id, after) = answer.as_ref().expect("a sender saw a connection error");
        assert_eq!(*status, 200);
        if *after {
            app.request(request_id).await;
            kept += 1;
        }
    }
    assert!(kept > 0, "no request was sent while the server compacted");
    // The worker and the mailer run again: a new booking finishes and sends its email.
    let answer = app
        .post_json("optimantra-booking", &booking("after@example.com"))
        .await;
    let runs = app.wait_runs_of(&answer).await;
    assert_eq!(runs[0]["status"], "succeeded", "{}", runs[0]);
}

#[tokio::test]
async fn hookflow_compact_shrinks_a_stopped_servers_store_and_refuses_a_running_one() {
    let mut app = spawn_with(Options {
        args: ["--clock", "manual", "--retain", "1d"]
            .map(String::from)
            .to_vec(),
        ..Options::default()
    })
    .await;
    booked(&app, 60).await;
    app.advance_clock("2d").await;
    let data = app.data.path().to_path_buf();
    let compact = || {
        Command::new(env!("CARGO_BIN_EXE_hookflow"))
            .args(["compact", "--data"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let refused = compact();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("in use by a running hookflow serve"), "{err}");

    let contacts = contact_ids(&app).await;
    app.stop();
    let before = sled_bytes(&data);
    let done = compact();
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        out.starts_with(&format!("compacted {}: ", data.display())),
        "{out}"
    );
    assert!(sled_bytes(&data) * 2 < before, "{out}");
    // Then what each tree holds: the contacts tree has one record a contact.
    let contacts_line: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("contacts "))
        .unwrap_or_else(|| panic!("no contacts tree in {out}"))
        .split_whitespace()
        .collect();
    assert_eq!(contacts_line[1], contacts.len().to_string(), "{out}");
    // Only trees that hold something are listed.
    assert!(!out.lines().any(|l| l.starts_with("queue ")), "{out}");
    let app = app.restart().await;
    assert_eq!(contact_ids(&app).await, contacts);
}

#[tokio::test]
async fn a_request_still_arriving_when_a_compaction_is_asked_is_answered_before_the_restart() {
    let mut app = spawn_with(compacting_soon()).await;
    booked(&app, 300).await;
    // A sender that takes 13 s to send its body: longer than a stop's 10 s drain.
    let body = booking("slow@example.com").to_string().into_bytes();
    let pieces: Vec<Vec<u8>> = body
        .chunks(body.len() / 12 + 1)
        .map(<[u8]>::to_vec)
        .collect();
    let slowly = futures_util::stream::unfold(pieces.into_iter(), |mut rest| async move {
        let piece = rest.next()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Ok::<_, std::io::Error>(piece), rest))
    });
    let slow = app.post_hook(
        "optimantra-booking",
        "application/json",
        reqwest::Body::wrap_stream(slowly),
    );
    let compaction_asked = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        app.advance_clock("2d").await;
    };
    let ((status, answer), ()) = tokio::join!(slow, compaction_asked);
    assert_eq!(status, 200, "{answer}");
    let data = app.data.path().to_path_buf();
    eventually("the store to be compacted", Duration::from_secs(60), || {
        let log = server_log(&data);
        async move { log.contains("compacted the store").then_some(()) }
    })
    .await;
    app.client = reqwest::Client::new();
    app.request(answer["request_id"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_contact_list_imported_through_the_api_does_not_make_the_store_due_for_a_compaction() {
    let mut app = spawn_with(Options {
        // The check runs at start only: a due store would restart at the next one.
        args: ["--compact-above", "1MiB"].map(String::from).to_vec(),
        ..Options::default()
    })
    .await;
    let mut csv = String::from("first_name,last_name,email,phone,tags\n");
    for i in 0..6_000 {
        csv.push_str(&format!(
            "Ann{i},Lee{i},ann{i}@example.com,+1415555{i:04},vip\n"
        ));
    }
    let before = sled_bytes(app.data.path());
    let (status, report) =
        crate::contacts_csv::post_csv(&app, "text/csv; charset=utf-8", &csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 6_000, "{report}");
    let after = sled_bytes(app.data.path());
    assert!(
        after > 2 * before && after > 1 << 20,
        "the import must double the file past the floor: {before} -> {after}"
    );
    app.stop();
    let store = hookflow::store::Store::open(app.data.path()).unwrap();
    assert!(
        !store.compaction_due(1 << 20).unwrap(),
        "copying {after} bytes of imported contacts would reclaim nothing"
    );
}
