//! Numbers are kept exactly as sent: in the stored payload, the reference, mappings, templates,
//! dedupe keys and contact fields — never rounded through a float. Bodies are written as text
//! here: building them with `json!` would already decide how their numbers are spelled.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const BIG: &str = "123456789012345678901234567890";
const NEXT: &str = "123456789012345678901234567891";
const PRECISE: &str = "0.1000000000000000055511151231257827";

/// Dedupes on the appointment id by JSONPath; maps it, the total and a decimal into a contact and
/// an email; tags a booking over 10.
const APPOINTMENTS: &str = r#"name: Appointments
trigger:
  inbound_webhook:
    dedupe: $.appointment.id
    dedupe_window: 24h
mapping:
  email: $.email
  appointment_id: $.appointment.id
  total: $.total
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - update_contact:
      custom:
        appointment_id: "{{ appointment_id }}"
        reference: "A-{{ trigger.appointment.id }}"
        total: "{{ total }}"
        total_text: "{{ total }} USD"
        precise: "{{ trigger.precise }}"
  - send_email:
      subject: "Booking {{ appointment_id }} for {{ total }}"
      body: "Precise: {{ trigger.precise }}"
      transactional: true
  - if:
      condition: "trigger.total > 10"
      then: [{add_tag: over-ten}]
      else: [{add_tag: ten-or-less}]
"#;

/// Dedupes on the same id through a template instead of a JSONPath.
const BY_TEMPLATE: &str = r#"name: By template
trigger:
  inbound_webhook:
    dedupe: "{{ trigger.appointment.id }}"
steps: []
"#;

/// Lets through only ids above `…890`: a comparison of two 30-digit integers.
const ABOVE: &str = r#"name: Above
trigger:
  inbound_webhook:
    filter: "trigger.appointment.id > 123456789012345678901234567890"
steps: []
"#;

fn booking(email: &str, id: &str, total: &str) -> String {
    format!(
        r#"{{"email": "{email}", "appointment": {{"id": {id}}}, "total": {total}, "precise": {PRECISE}}}"#
    )
}

async fn app() -> (TestApp, tempfile::TempDir) {
    spawn_workflows(&[
        ("appointments.yaml", APPOINTMENTS),
        ("by-template.yaml", BY_TEMPLATE),
        ("above.yaml", ABOVE),
    ])
    .await
}

async fn post(app: &TestApp, workflow: &str, body: String) -> Value {
    let (status, answer) = app.post_hook(workflow, "application/json", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The text of the JSON number at `v`, as the server wrote it.
fn digits(v: &Value) -> String {
    assert!(v.is_number(), "{v} is not a number");
    v.to_string()
}

#[tokio::test]
async fn a_thirty_digit_id_is_stored_with_every_digit() {
    let (app, _dir) = app().await;
    let answer = post(
        &app,
        "appointments",
        booking("ann@example.com", BIG, "12.50"),
    )
    .await;
    let request = app.request(answer["request_id"].as_str().unwrap()).await;
    assert_eq!(digits(&request["payload"]["appointment"]["id"]), BIG);
    assert_eq!(digits(&request["payload"]["total"]), "12.50");
    assert_eq!(digits(&request["payload"]["precise"]), PRECISE);
    // The reference (first payload) and its field list keep them too.
    let reference = &app.workflow("appointments").await["reference"];
    assert_eq!(digits(&reference["payload"]["appointment"]["id"]), BIG);
    let fields = reference["fields"].as_array().unwrap();
    let id_field = fields.iter().find(|f| f["path"] == "$.appointment.id");
    assert_eq!(digits(&id_field.unwrap()["value"]), BIG);
}

#[tokio::test]
async fn ids_that_differ_in_the_last_digit_are_two_bookings_not_a_duplicate() {
    let (app, _dir) = app().await;
    for workflow in ["appointments", "by-template"] {
        let first = post(&app, workflow, booking("ann@example.com", BIG, "12.50")).await;
        let next = post(&app, workflow, booking("bob@example.com", NEXT, "12.50")).await;
        let again = post(&app, workflow, booking("ann@example.com", BIG, "12.50")).await;
        assert_eq!(item_statuses(&first), ["accepted"], "{workflow}");
        assert_eq!(item_statuses(&next), ["accepted"], "{workflow}");
        assert_eq!(item_statuses(&again), ["duplicate"], "{workflow}");
    }
}

#[tokio::test]
async fn mappings_and_templates_carry_the_exact_digits_into_contacts_and_emails() {
    let (app, _dir) = app().await;
    let answer = post(
        &app,
        "appointments",
        booking("ann@example.com", BIG, "12.50"),
    )
    .await;
    let run = app.wait_run_done(&accepted_run_ids(&answer)[0]).await;
    assert_eq!(run["status"], "succeeded", "{run}");

    let contact = app.contact_by_email("ann@example.com").await;
    let custom = &contact["custom"];
    assert_eq!(digits(&custom["appointment_id"]), BIG);
    assert_eq!(custom["reference"], format!("A-{BIG}"));
    assert_eq!(digits(&custom["total"]), "12.50");
    assert_eq!(custom["total_text"], "12.50 USD");
    assert_eq!(digits(&custom["precise"]), PRECISE);

    let outbox = eventually(
        "the email in the outbox",
        Duration::from_secs(20),
        || async {
            let items = app.get_ok("/api/outbox").await["items"].clone();
            items.as_array().unwrap().first().cloned()
        },
    )
    .await;
    assert_eq!(outbox["subject"], format!("Booking {BIG} for 12.50"));
    assert_eq!(outbox["text"], format!("Precise: {PRECISE}"));
}

#[tokio::test]
async fn conditions_still_compare_numbers_by_value() {
    let (app, _dir) = app().await;
    let over = post(
        &app,
        "appointments",
        booking("ann@example.com", BIG, "12.50"),
    )
    .await;
    let under = post(
        &app,
        "appointments",
        booking("bob@example.com", NEXT, "9.990"),
    )
    .await;
    for answer in [&over, &under] {
        app.wait_run_done(&accepted_run_ids(answer)[0]).await;
    }
    let tags = |c: Value| c["tags"].clone();
    let ann = app.contact_by_email("ann@example.com").await;
    let bob = app.contact_by_email("bob@example.com").await;
    assert_eq!(tags(ann), json!(["over-ten"]));
    assert_eq!(tags(bob), json!(["ten-or-less"]));

    // Two 30-digit ids one apart: a float would call them equal.
    let same = post(&app, "above", booking("ann@example.com", BIG, "1")).await;
    let above = post(&app, "above", booking("ann@example.com", NEXT, "1")).await;
    assert_eq!(item_statuses(&same), ["filtered"]);
    assert_eq!(item_statuses(&above), ["accepted"]);
}
