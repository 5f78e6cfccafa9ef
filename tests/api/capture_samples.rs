//! Every sample of `samples/` posted to the shipped workflows as its sender would: the exact
//! answer, the request log entry and the reference (issue "Capture").

use crate::helpers::*;
use serde_json::Value;

/// (workflow, sample, content type, HTTP status, request status, item statuses)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static str,
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (
        "optimantra-booking",
        "optimantra/booking.json",
        "application/json",
        200,
        "accepted",
        &["accepted"],
    ),
    (
        "optimantra-cancellation",
        "optimantra/cancellation.json",
        "application/json",
        200,
        "accepted",
        &["accepted"],
    ),
    (
        "optimantra-checkout",
        "optimantra/checkout.json",
        "application/json",
        200,
        "accepted",
        &["accepted"],
    ),
    (
        "optimantra-superbill",
        "optimantra/superbill.json",
        "application/json",
        200,
        "accepted",
        &["accepted"],
    ),
    (
        "embodia-consults",
        "embodia/consult-scheduled.json",
        "application/json",
        200,
        "accepted",
        &["accepted", "accepted"],
    ),
    (
        "embodia-consults",
        "embodia/consult-mixed.json",
        "application/json",
        200,
        "accepted",
        &["accepted", "filtered", "filtered"],
    ),
    (
        "telehealth-visits",
        "telehealth/visit-ended-v1.json",
        "application/json",
        200,
        "captured",
        &["captured"],
    ),
    (
        "telehealth-visits",
        "telehealth/visit-ended-v2.json",
        "application/json",
        200,
        "captured",
        &["captured"],
    ),
    (
        "telehealth-visits",
        "telehealth/visit-note-signed-v2.json",
        "application/json",
        200,
        "captured",
        &["captured"],
    ),
    (
        "telehealth-visits",
        "telehealth/visit-invoice-processed-v2.json",
        "application/json",
        200,
        "captured",
        &["captured"],
    ),
    (
        "kivicare-appointments",
        "kivicare/appointment-booked.json",
        "application/json",
        200,
        "accepted",
        &["accepted"],
    ),
    (
        "kivicare-appointments",
        "kivicare/payment-received.json",
        "application/json",
        200,
        "filtered",
        &["filtered"],
    ),
    (
        "kivicare-appointments-form",
        "kivicare/appointment-booked.form",
        "application/x-www-form-urlencoded",
        200,
        "accepted",
        &["accepted"],
    ),
];

#[tokio::test]
async fn every_sample_gets_the_answer_its_sender_expects_and_is_logged() {
    let app = spawn_app().await;
    for (workflow, file, content_type, http, status, items) in CASES {
        let body = sample(file);
        let (s, answer) = app.post_hook(workflow, content_type, body.clone()).await;
        assert_eq!(s, *http, "{file}: {answer}");
        assert_eq!(answer["status"], *status, "{file}: {answer}");
        assert_eq!(answer["workflow"], *workflow);
        let got: Vec<&str> = answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["status"].as_str().unwrap())
            .collect();
        assert_eq!(got, *items, "{file}");
        for item in answer["items"].as_array().unwrap() {
            assert_eq!(
                item["run_id"].is_string(),
                item["status"] == "accepted",
                "{file}: run ids only for accepted items"
            );
        }
        let logged = app.request(answer["request_id"].as_str().unwrap()).await;
        assert_eq!(logged["status"], *status);
        assert_eq!(
            logged["body"].as_str().unwrap().as_bytes(),
            body.as_slice(),
            "{file}: the raw body is logged"
        );
        assert_eq!(logged["items"].as_array().unwrap().len(), items.len());
    }
}

#[tokio::test]
async fn the_booking_query_string_is_kept_as_request_query() {
    let app = spawn_app().await;
    let query = String::from_utf8(sample("optimantra/booking.query")).unwrap();
    let url = format!("{}?{}", app.url("optimantra-booking"), query.trim());
    let req = app
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(sample("optimantra/booking.json"));
    let (s, answer) = app.send(req).await;
    assert_eq!(s, 200);
    let logged = app.request(answer["request_id"].as_str().unwrap()).await;
    assert_eq!(logged["query"], "src=GHL");
    let run = app
        .wait_run_done(answer["items"][0]["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["request"]["query"]["src"], "GHL");
}

#[tokio::test]
async fn the_telehealth_docs_own_commented_sample_is_a_400_with_line_and_column() {
    let app = spawn_app().await;
    let (s, answer) = app
        .post_hook(
            "telehealth-visits",
            "application/json",
            sample("telehealth/visit-note-signed-v2.commented.json"),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(answer["error"]["code"], "bad_request");
    let msg = answer["error"]["message"].as_str().unwrap();
    assert!(msg.contains("line 1") && msg.contains("column 67"), "{msg}");
    let rejected = app
        .get_ok("/api/requests?workflow=telehealth-visits&status=rejected")
        .await;
    assert_eq!(rejected["items"].as_array().unwrap().len(), 1);
    assert!(
        app.workflow("telehealth-visits").await["reference"].is_null(),
        "a rejected body never becomes the reference"
    );
}

#[tokio::test]
async fn broken_and_hostile_bodies_get_clear_errors() {
    let app = spawn_app().await;
    let cases: &[(&str, &str, u16)] = &[
        ("broken/duplicate-keys.json", "application/json", 400),
        ("broken/too-deep.json", "application/json", 400),
        ("broken/truncated.json", "application/json", 400),
        ("broken/not-json.txt", "text/plain", 400),
        ("broken/scalar.json", "application/json", 400),
        ("broken/xml-body.xml", "application/xml", 415),
        ("broken/xml-body.xml", "application/json", 400),
        ("broken/depth-64.json", "application/json", 200),
    ];
    for (file, ct, want) in cases {
        let (s, answer) = app.post_hook("optimantra-booking", ct, sample(file)).await;
        assert_eq!(s, *want, "{file}: {answer}");
        if *want != 200 {
            let msg = answer["error"]["message"].as_str().unwrap();
            assert!(msg.len() > 10, "{file}: {msg}");
        }
    }
    let (s, answer) = app
        .post_hook(
            "optimantra-booking",
            "application/json",
            sample("broken/truncated.json"),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 10"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_embodia_reference_lists_the_fields_of_one_consult_in_document_order() {
    let app = spawn_app().await;
    let (_, a) = app
        .post_hook(
            "embodia-consults",
            "application/json",
            sample("embodia/consult-scheduled.json"),
        )
        .await;
    let wf = app.workflow("embodia-consults").await;
    assert_eq!(wf["reference"]["request_id"], a["request_id"]);
    let fields: Vec<&str> = wf["reference"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(fields[0], "$.event");
    assert!(fields.contains(&"$.participant.email"), "{fields:?}");
    let payload: Value = serde_json::from_slice(&sample("embodia/consult-scheduled.json")).unwrap();
    let email = wf["reference"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "$.participant.email")
        .unwrap();
    assert_eq!(email["value"], payload[0]["participant"]["email"]);
    // Sent again: every item is a duplicate within the dedupe window.
    let (_, again) = app
        .post_hook(
            "embodia-consults",
            "application/json",
            sample("embodia/consult-scheduled.json"),
        )
        .await;
    assert_eq!(again["status"], "duplicate");
    assert!(again["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "duplicate" && i["run_id"].is_null()));
}

#[tokio::test]
async fn mixpanel_keys_that_are_not_identifiers_use_bracket_paths() {
    let (app, _dir) =
        spawn_workflows(&[("mix.yaml", "name: Mixpanel\nstatus: draft\nsteps: []\n")]).await;
    app.post_hook(
        "mix",
        "application/json",
        sample("kivicare/mixpanel-insert-id.json"),
    )
    .await;
    let fields = app.workflow("mix").await["reference"]["fields"].clone();
    let insert = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "$.properties['$insert_id']")
        .expect("bracket path");
    assert!(insert["value"].is_string());
}
