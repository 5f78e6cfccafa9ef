//! A store's own compression dictionary: learned by the run worker from a served store's first
//! records, and the records written with it read back after a kill and a restart.

use crate::helpers::*;
use serde_json::{json, Value};

/// `n` bookings of new patients in one request (the body's array is split into items).
fn bookings(from: usize, n: usize) -> Value {
    let sample: Value = serde_json::from_slice(&sample("optimantra/booking.json")).unwrap();
    let items: Vec<Value> = (from..from + n)
        .map(|i| {
            let mut body = sample.clone();
            body["email"] = json!(format!("patient{i}@example.org"));
            body["firstName"] = json!(format!("Pat{i}"));
            body["phone"] = json!(format!("+1212{:07}", 2_000_000 + i));
            body["appointmentId"] = json!(format!("OM-{i}"));
            body
        })
        .collect();
    Value::Array(items)
}

async fn book(app: &TestApp, from: usize, n: usize) -> Vec<String> {
    let answer = app
        .post_json("optimantra-booking", &bookings(from, n))
        .await;
    let runs = app.wait_runs_of(&answer).await;
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
    accepted_run_ids(&answer)
}

#[tokio::test]
async fn the_worker_learns_the_stores_dictionary_and_its_records_survive_a_kill() {
    let app = spawn_app().await;
    let mut runs = Vec::new();
    let mut from = 0;
    // About seven records a booking are sampled; 1,024 are enough to learn from.
    while !server_log(app.data.path()).contains("learned the store's dictionary") {
        assert!(from < 1_000, "no dictionary learned after {from} bookings");
        runs.extend(book(&app, from, 50).await);
        from += 50;
    }
    // Bookings after it are compressed against it.
    runs.extend(book(&app, from, 50).await);
    let mut app = app;
    app.kill9();
    let app = app.restart().await;
    for id in [&runs[0], &runs[runs.len() / 2], runs.last().unwrap()] {
        let run = app.run(id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let last = app
        .contact_by_email(&format!("patient{}@example.org", from + 49))
        .await;
    assert!(
        last["tags"].as_array().unwrap().contains(&json!("Booked")),
        "{last}"
    );
    // The restarted server compresses against the same dictionary: it learns no other (the
    // log is appended to across the restart).
    book(&app, from + 50, 50).await;
    let log = server_log(app.data.path());
    assert_eq!(
        log.matches("learned the store's dictionary").count(),
        1,
        "{log}"
    );
}
