//! A booking's timeline through the real binary: the API shows the same entries as before
//! they were grouped, the store keeps them under one key, and entries an older hookflow wrote
//! (one a key) still show.

use crate::helpers::*;
use serde_json::{json, Value};

/// The keys of contact `id` in `contact_timeline` of a stopped server's data dir.
fn timeline_keys(app: &TestApp, id: &str) -> Vec<Vec<u8>> {
    let db = sled::open(app.data.path().join("sled")).unwrap();
    let tree = db.open_tree("contact_timeline").unwrap();
    let mut prefix = id.as_bytes().to_vec();
    prefix.push(0);
    tree.scan_prefix(prefix)
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect()
}

/// Asserts the three entries of the sample booking, as hookflow showed them before grouping.
fn assert_booking_entries(jane: &Value, run_id: &str) {
    let timeline = jane["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 3, "{jane}");
    let changes = [
        json!({"email": {"from": null, "to": "jane.doe@example.com"},
               "phone": {"from": null, "to": "+14155550132"},
               "source": {"from": null, "to": "optimantra-booking"}}),
        json!({"first_name": {"from": null, "to": "Jane"},
               "last_name": {"from": null, "to": "Doe"},
               "custom.last_booking": {"from": null, "to": "2026-12-03"}}),
        json!({"tags_added": ["Booked"]}),
    ];
    for (i, (entry, changes)) in timeline.iter().zip(changes).enumerate() {
        let want = json!({
            "at": jane["created_at"],
            "run_id": run_id,
            "step": format!("[{i}]"),
            "actor": "run",
            "changes": changes,
        });
        assert_eq!(entry, &want, "entry {i} of {jane}");
    }
}

#[tokio::test]
async fn a_booking_shows_its_three_timeline_entries_as_before_from_one_stored_key() {
    let mut app = spawn_app().await;
    let answer = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    let run_id = run["id"].as_str().unwrap();
    let jane = app.contact_by_email("jane.doe@example.com").await;
    assert_booking_entries(&jane, run_id);
    let id = jane["id"].as_str().unwrap().to_string();

    app.stop();
    assert_eq!(timeline_keys(&app, &id).len(), 1, "one key for one run");
    let app = app.restart().await;
    assert_eq!(app.contact(&id).await["timeline"], jane["timeline"]);
}

#[tokio::test]
async fn timeline_entries_an_older_hookflow_stored_one_a_key_still_show_in_order() {
    let mut app = spawn_app().await;
    let answer = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    let jane = app.contact_by_email("jane.doe@example.com").await;
    let id = jane["id"].as_str().unwrap().to_string();
    app.stop();

    // What an older hookflow leaves behind: each entry its own key, its JSON as the value
    // (plain JSON is what the oldest stores hold; compressed values start with a byte JSON
    // never does).
    {
        let db = sled::open(app.data.path().join("sled")).unwrap();
        let tree = db.open_tree("contact_timeline").unwrap();
        tree.clear().unwrap();
        for (i, entry) in jane["timeline"].as_array().unwrap().iter().enumerate() {
            let mut key = id.as_bytes().to_vec();
            key.push(0);
            key.extend_from_slice(format!("01H0000000000000000000000{i}").as_bytes());
            tree.insert(key, serde_json::to_vec(entry).unwrap())
                .unwrap();
        }
        db.flush().unwrap();
    }
    let app = app.restart().await;
    let shown = app.contact(&id).await;
    assert_booking_entries(&shown, run["id"].as_str().unwrap());

    // A change through the API now adds a key after them.
    let (status, _) = app
        .send(
            app.client
                .patch(format!("{}/api/contacts/{id}", app.base))
                .json(&json!({"first_name": "Janet"})),
        )
        .await;
    assert_eq!(status, 200);
    let timeline = app.contact(&id).await["timeline"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(timeline.len(), 4, "{timeline:?}");
    assert_eq!(timeline[..3], shown["timeline"].as_array().unwrap()[..]);
    assert_eq!(
        timeline[3]["changes"],
        json!({"first_name": {"from": "Jane", "to": "Janet"}})
    );
}
