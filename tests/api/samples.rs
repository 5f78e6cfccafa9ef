//! The shipped workflows with the shipped samples give exactly what `samples/README.md` says.
//!
//! Steps that are still being built (`send_email`, `*_sequence`, `wait`) are only checked by
//! kind and for not having done the wrong thing, so these tests keep holding when they land.

use crate::helpers::*;
use serde_json::{json, Value};

/// Asserts the first steps of a run by kind and status.
fn assert_steps(run: &Value, expected: &[(&str, &str)]) {
    let got = step_kinds(run);
    assert!(got.len() >= expected.len(), "{run}");
    for (i, (kind, status)) in expected.iter().enumerate() {
        assert_eq!(
            (got[i].0.as_str(), got[i].1.as_str()),
            (*kind, *status),
            "step {i} of {run}"
        );
        assert_eq!(run["steps"][i]["path"], json!([i]));
    }
}

/// The first steps of a shipped booking workflow: the contact found (or made), updated, tagged.
const FOUND_UPDATED_TAGGED: &[(&str, &str)] = &[
    ("find_contact", "succeeded"),
    ("update_contact", "succeeded"),
    ("add_tag", "succeeded"),
];

/// A booking of someone in no sequence: [`FOUND_UPDATED_TAGGED`], then a
/// `remove_from_sequence` that changed nothing.
fn assert_booked(run: &Value) {
    assert_steps(run, FOUND_UPDATED_TAGGED);
    assert_remove_from_sequence_changed_nothing(run, 3);
}

/// Asserts a contact's name, phone and tags.
fn assert_person(contact: &Value, first: &str, last: &str, phone: &str, tags: Value) {
    assert_eq!(contact["first_name"], first, "{contact}");
    assert_eq!(contact["last_name"], last, "{contact}");
    assert_eq!(contact["phone"], phone, "{contact}");
    assert_eq!(contact["tags"], tags, "{contact}");
}

/// A `remove_from_sequence` for a contact in no sequence: a noop once it exists, never a change.
fn assert_remove_from_sequence_changed_nothing(run: &Value, i: usize) {
    let step = &run["steps"][i];
    assert_eq!(step["kind"], "remove_from_sequence", "{run}");
    assert_ne!(
        step["status"], "succeeded",
        "the contact was in no sequence: {step}"
    );
}

/// Asserts that each of a run's changing steps left exactly one timeline entry.
fn assert_one_entry_per_step(contact: &Value, run: &Value, steps: &[usize]) {
    let run_id = run["id"].as_str().unwrap();
    for i in steps {
        let n = entries_of(contact, run_id, &format!("[{i}]")).len();
        assert_eq!(n, 1, "timeline entries of step {i} of {run_id}: {contact}");
    }
}

#[tokio::test]
async fn jane_books_checks_out_and_gets_a_superbill_all_on_one_contact() {
    let app = spawn_app().await;
    let booking = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    assert_eq!(booking["status"], "accepted");
    let booking = app.wait_runs_of(&booking).await.remove(0);
    assert_booked(&booking);
    assert_eq!(booking["steps"][0]["output"]["created"], true);
    let jane = app.contact_by_email("jane.doe@example.com").await;
    assert_person(&jane, "Jane", "Doe", "+14155550132", json!(["Booked"]));
    assert_eq!(jane["custom"], json!({"last_booking": "2026-12-03"}));
    assert_one_entry_per_step(&jane, &booking, &[0, 1, 2]);

    let checkout = app
        .post_sample("optimantra-checkout", "optimantra/checkout.json")
        .await;
    let checkout = app.wait_runs_of(&checkout).await.remove(0);
    assert_steps(
        &checkout,
        &[("find_contact", "succeeded"), ("add_tag", "succeeded")],
    );
    assert_eq!(checkout["steps"][0]["output"]["matched_by"], "email");
    assert_eq!(checkout["steps"][2]["kind"], "add_to_sequence");
    assert_eq!(checkout["contact_id"], jane["id"]);

    let bill = app
        .post_sample("optimantra-superbill", "optimantra/superbill.json")
        .await;
    let bill = app.wait_runs_of(&bill).await.remove(0);
    assert_eq!(bill["status"], "succeeded", "{bill}");
    assert_steps(&bill, FOUND_UPDATED_TAGGED);
    assert_eq!(bill["contact_id"], jane["id"]);

    assert_eq!(app.contacts("").await.len(), 1, "one Jane");
    let jane = app.contact_by_email("jane.doe@example.com").await;
    assert_eq!(jane["tags"], json!(["Booked", "Checked-out", "Superbill"]));
    let custom = &jane["custom"];
    assert_eq!(custom["last_booking"], "2026-12-03");
    assert_eq!(custom["date_of_visit"], "2026-12-03");
    assert_eq!(custom["total"], json!(450.83), "numbers keep their type");
    // The sender wrote `40.00`: a number, with its digits as sent.
    assert!(custom["copay"].is_number());
    assert_eq!(custom["copay"].to_string(), "40.00");
    assert_eq!(
        custom["insurance"],
        "Blue Shield of California PPO - Member ID XEH900123456, Group 00417"
    );
    assert_one_entry_per_step(&jane, &checkout, &[1]);
    assert!(entries_of(&jane, checkout["id"].as_str().unwrap(), "[0]").is_empty());
    assert_one_entry_per_step(&jane, &bill, &[1, 2]);
    let runs = app
        .runs(&format!("contact={}", jane["id"].as_str().unwrap()))
        .await;
    assert_eq!(runs.len(), 3, "{runs:?}");
}

#[tokio::test]
async fn a_booking_from_an_email_link_carries_src_in_the_request_query() {
    let app = spawn_app().await;
    let query = String::from_utf8(sample("optimantra/booking.query")).unwrap();
    let url = format!("{}?{}", app.url("optimantra-booking"), query.trim());
    let (status, answer) = app
        .send(
            app.client
                .post(url)
                .header("content-type", "application/json")
                .body(sample("optimantra/booking.json")),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["request"]["query"]["src"], "GHL", "{run}");
    assert_steps(&run, &[("find_contact", "succeeded")]);
    assert_eq!(
        app.contact_by_email("jane.doe@example.com").await["tags"],
        json!(["Booked"])
    );
}

#[tokio::test]
async fn marcus_is_created_by_his_cancellation_and_his_absent_booked_tag_is_a_noop() {
    let app = spawn_app().await;
    let answer = app
        .post_sample("optimantra-cancellation", "optimantra/cancellation.json")
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_steps(
        &run,
        &[
            ("find_contact", "succeeded"),
            ("add_tag", "succeeded"),
            ("remove_tag", "noop"),
        ],
    );
    assert_eq!(run["steps"][3]["kind"], "add_to_sequence");
    let marcus = app.contact_by_email("marcus.reyes@example.org").await;
    assert_person(
        &marcus,
        "Marcus",
        "Reyes",
        "+13125550178",
        json!(["Cancelled"]),
    );
    assert_one_entry_per_step(&marcus, &run, &[0, 1]);
    assert!(entries_of(&marcus, run["id"].as_str().unwrap(), "[2]").is_empty());
}

#[tokio::test]
async fn an_embodia_group_class_books_both_participants_and_a_retry_is_a_duplicate() {
    let app = spawn_app().await;
    let answer = app
        .post_sample("embodia-consults", "embodia/consult-scheduled.json")
        .await;
    assert_eq!(answer["status"], "accepted");
    assert_eq!(item_statuses(&answer), ["accepted", "accepted"]);
    let runs = app.wait_runs_of(&answer).await;
    for run in &runs {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    for (email, first, last) in [
        ("emily.chen@example.com", "Emily", "Chen"),
        ("daniel.okafor@example.org", "Daniel", "Okafor"),
    ] {
        let c = app.contact_by_email(email).await;
        assert_eq!(
            (c["first_name"].as_str(), c["last_name"].as_str()),
            (Some(first), Some(last))
        );
        assert_eq!(c["tags"], json!(["Booked"]));
        assert_eq!(c["timeline"].as_array().unwrap().len(), 2, "{c}");
    }
    let request = app.request(answer["request_id"].as_str().unwrap()).await;
    let keys: Vec<_> = request["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dedupe_key"].clone())
        .collect();
    assert_eq!(
        keys,
        [
            json!("48213:90311:participant.added"),
            json!("48213:90342:participant.added")
        ]
    );

    let again = app
        .post_sample("embodia-consults", "embodia/consult-scheduled.json")
        .await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(item_statuses(&again), ["duplicate", "duplicate"]);
    assert_eq!(app.runs("workflow=embodia-consults").await.len(), 2);
    assert_eq!(app.contacts("").await.len(), 2);
}

#[tokio::test]
async fn embodia_mixed_events_book_olivia_and_nobody_for_the_other_items() {
    let app = spawn_app().await;
    let answer = app
        .post_sample("embodia-consults", "embodia/consult-mixed.json")
        .await;
    assert_eq!(answer["status"], "accepted");
    assert_eq!(item_statuses(&answer), ["accepted", "filtered", "filtered"]);
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    let olivia = app.contact_by_email("olivia.martin@example.org").await;
    assert_eq!(olivia["first_name"], "Olivia");
    assert_eq!(olivia["last_name"], "Martin");
    assert_eq!(olivia["tags"], json!(["Booked"]));
    let all = app.contacts("").await;
    assert_eq!(
        all.len(),
        1,
        "nobody for Emily's update or Tom Baker: {all:?}"
    );
    assert_eq!(app.runs("").await.len(), 1);
}

#[tokio::test]
async fn sam_booking_alone_through_kivicare_gets_the_family_phone() {
    let app = spawn_app().await;
    let answer = app
        .post_sample("kivicare-appointments", "kivicare/appointment-booked.json")
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_booked(&run);
    let sam = app.contact_by_email("sam.doe@example.com").await;
    assert_person(&sam, "Sam", "Doe", "+14155550132", json!(["Booked"]));
    assert_eq!(
        sam["custom"],
        json!({"next_appointment": "2026-12-08 09:15", "doctor": "Alan Brooks"})
    );
    assert_one_entry_per_step(&sam, &run, &[0, 1, 2]);

    let again = app
        .post_sample("kivicare-appointments", "kivicare/appointment-booked.json")
        .await;
    assert_eq!(item_statuses(&again), ["duplicate"]);
    let request = app.request(answer["request_id"].as_str().unwrap()).await;
    assert_eq!(request["items"][0]["dedupe_key"], "5581");
}

#[tokio::test]
async fn sam_booking_after_jane_gets_his_own_contact_without_her_phone() {
    let app = spawn_app().await;
    let booking = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    app.wait_runs_of(&booking).await;
    let jane_before = app.contact_by_email("jane.doe@example.com").await;

    let answer = app
        .post_sample("kivicare-appointments", "kivicare/appointment-booked.json")
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_steps(&run, &[("find_contact", "succeeded")]);
    assert_eq!(run["steps"][0]["output"]["created"], true);
    let sam = app.contact_by_email("sam.doe@example.com").await;
    assert_ne!(sam["id"], jane_before["id"]);
    assert!(sam["phone"].is_null(), "{sam}");
    assert_eq!(sam["tags"], json!(["Booked"]));
    assert_eq!(sam["custom"]["doctor"], "Alan Brooks");
    let jane = app.contact_by_email("jane.doe@example.com").await;
    assert_eq!(jane, jane_before, "Sam's booking did not touch Jane");
}

#[tokio::test]
async fn priya_books_through_the_kivicare_form() {
    let app = spawn_app().await;
    let answer = app
        .post_sample(
            "kivicare-appointments-form",
            "kivicare/appointment-booked.form",
        )
        .await;
    assert_eq!(answer["status"], "accepted");
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_booked(&run);
    let priya = app.contact_by_email("priya.patel@example.org").await;
    assert_person(&priya, "Priya", "Patel", "+12065550147", json!(["Booked"]));
    assert_eq!(
        priya["custom"],
        json!({"next_appointment": "2026-12-09 14:45", "doctor": "Alan Brooks"})
    );
    let request = app.request(answer["request_id"].as_str().unwrap()).await;
    assert_eq!(request["items"][0]["dedupe_key"], "5602");
}

#[tokio::test]
async fn a_kivicare_payment_is_filtered_with_the_filter_error_on_the_request() {
    let app = spawn_app().await;
    let answer = app
        .post_sample("kivicare-appointments", "kivicare/payment-received.json")
        .await;
    assert_eq!(answer["status"], "filtered");
    assert_eq!(item_statuses(&answer), ["filtered"]);
    assert!(answer["items"][0]["run_id"].is_null());
    let request = app.request(answer["request_id"].as_str().unwrap()).await;
    let error = request["items"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("event_type"), "{request}");
    assert!(app.runs("").await.is_empty());
    assert!(app.contacts("").await.is_empty());
}
