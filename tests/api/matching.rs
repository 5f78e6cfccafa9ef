//! `find_contact` over HTTP: email case and spaces, phone formats, phone-only payloads, the
//! family phone shared by two emails, and payloads with no usable key (Embodia's `null` email).

use crate::helpers::*;
use serde_json::{json, Value};

const FIND: &str = r#"name: Find
mapping:
  email: $.email
  phone: $.phone
  name: $.name
steps:
  - find_contact: {email: "{{ email }}", phone: "{{ phone }}", first_name: "{{ name }}", create: true}
  - add_tag: Seen
"#;

async fn app() -> (TestApp, tempfile::TempDir) {
    spawn_workflows(&[("find.yaml", FIND)]).await
}

/// Posts one payload to `find` and returns its finished run.
async fn find(app: &TestApp, body: Value) -> Value {
    let answer = app.post_json("find", &body).await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{body} → {run}");
    run
}

fn found(run: &Value) -> &Value {
    &run["steps"][0]["output"]
}

#[tokio::test]
async fn email_case_and_surrounding_spaces_find_the_same_contact() {
    let (app, _dir) = app().await;
    let first = find(
        &app,
        json!({"email": "Jane.Doe@Example.COM", "name": "Jane"}),
    )
    .await;
    assert_eq!(found(&first)["created"], true);
    for spelling in [
        "  jane.doe@example.com ",
        "JANE.DOE@EXAMPLE.COM",
        "jane.doe@example.com\t",
    ] {
        let run = find(&app, json!({"email": spelling})).await;
        assert_eq!(found(&run)["created"], false, "{spelling:?}");
        assert_eq!(found(&run)["matched_by"], "email", "{spelling:?}");
        assert_eq!(run["contact_id"], first["contact_id"], "{spelling:?}");
    }
    let all = app.contacts("").await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["email"], "jane.doe@example.com");
    assert_eq!(
        app.contacts("q=JANE.DOE").await.len(),
        1,
        "search ignores case"
    );
}

#[tokio::test]
async fn phone_formats_normalise_to_one_e164_number() {
    let (app, _dir) = app().await;
    let first = find(&app, json!({"phone": "(415) 555-0132"})).await;
    assert_eq!(found(&first)["created"], true);
    for spelling in [
        "415-555-0132",
        "+1 415 555 0132",
        "4155550132",
        "+1 (415) 555.0132",
    ] {
        let run = find(&app, json!({"phone": spelling})).await;
        assert_eq!(found(&run)["matched_by"], "phone", "{spelling:?}");
        assert_eq!(run["contact_id"], first["contact_id"], "{spelling:?}");
    }
    let all = app.contacts("").await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["phone"], "+14155550132");
    assert!(all[0]["email"].is_null());
    assert_eq!(
        app.contacts("q=(415) 555-0132").await.len(),
        1,
        "search by phone in any format"
    );
}

#[tokio::test]
async fn a_phone_only_payload_matches_the_one_contact_holding_that_phone() {
    let (app, _dir) = app().await;
    let jane = find(
        &app,
        json!({"email": "jane@example.com", "phone": "(415) 555-0132", "name": "Jane"}),
    )
    .await;
    let run = find(&app, json!({"phone": "415.555.0132"})).await;
    assert_eq!(found(&run)["matched_by"], "phone");
    assert_eq!(run["contact_id"], jane["contact_id"]);
    assert_eq!(app.contacts("").await.len(), 1);
    let contact = app.contact_by_email("jane@example.com").await;
    let run_id = run["id"].as_str().unwrap();
    assert!(
        entries_of(&contact, run_id, "[1]").is_empty(),
        "Seen was already there: noop, no entry"
    );
}

#[tokio::test]
async fn a_phone_held_by_a_contact_without_email_matches_a_payload_with_an_email() {
    let (app, _dir) = app().await;
    let walk_in = find(&app, json!({"phone": "312-555-0178"})).await;
    let run = find(
        &app,
        json!({"email": "marcus@example.org", "phone": "+13125550178"}),
    )
    .await;
    assert_eq!(found(&run)["matched_by"], "phone");
    assert_eq!(run["contact_id"], walk_in["contact_id"]);
    assert_eq!(app.contacts("").await.len(), 1);
}

#[tokio::test]
async fn a_family_phone_shared_by_two_emails_never_merges_the_two_people() {
    let (app, _dir) = app().await;
    let jane = find(
        &app,
        json!({"email": "jane.doe@example.com", "phone": "(415) 555-0132", "name": "Jane"}),
    )
    .await;
    let sam = find(
        &app,
        json!({"email": "sam.doe@example.com", "phone": "+1 415-555-0132", "name": "Sam"}),
    )
    .await;
    assert_eq!(found(&sam)["created"], true, "{sam}");
    assert_ne!(sam["contact_id"], jane["contact_id"]);
    let warnings = found(&sam)["warnings"].to_string();
    assert!(warnings.contains("+14155550132"), "{warnings}");

    let sam_contact = app.contact_by_email("sam.doe@example.com").await;
    assert!(
        sam_contact["phone"].is_null(),
        "Jane's phone is not copied: {sam_contact}"
    );
    assert_eq!(sam_contact["first_name"], "Sam");
    let jane_contact = app.contact_by_email("jane.doe@example.com").await;
    assert_eq!(jane_contact["phone"], "+14155550132");
    assert_eq!(
        jane_contact["timeline"].as_array().unwrap().len(),
        2,
        "Sam's run wrote nothing on Jane: {jane_contact}"
    );

    let again = find(
        &app,
        json!({"email": "sam.doe@example.com", "phone": "4155550132"}),
    )
    .await;
    assert_eq!(found(&again)["matched_by"], "email");
    assert_eq!(again["contact_id"], sam["contact_id"]);
    assert_eq!(app.contacts("").await.len(), 2);
    let by_phone = app.contacts("q=%2B14155550132").await;
    assert_eq!(by_phone.len(), 1, "only Jane holds the phone: {by_phone:?}");
}

#[tokio::test]
async fn an_unparseable_phone_is_kept_out_of_the_contact_and_reported() {
    let (app, _dir) = app().await;
    let run = find(
        &app,
        json!({"email": "lee@example.com", "phone": "call me maybe"}),
    )
    .await;
    let warnings = found(&run)["warnings"].to_string();
    assert!(warnings.contains("call me maybe"), "{warnings}");
    assert!(app.contact_by_email("lee@example.com").await["phone"].is_null());
}

#[tokio::test]
async fn a_payload_without_email_or_phone_fails_find_contact_and_creates_nobody() {
    let (app, _dir) = app().await;
    let answer = app
        .post_json(
            "find",
            &json!({"email": null, "phone": "", "name": "Nobody"}),
        )
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "failed");
    assert_eq!(step_kinds(&run), [("find_contact".into(), "failed".into())]);
    let error = run["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("no email or phone"), "{error}");
    assert!(app.contacts("").await.is_empty());
}

/// Tom Baker's item from `consult-mixed.json` (`participant.email: null`) as a new booking.
fn embodia_item_without_email() -> Value {
    let mixed: Value = serde_json::from_slice(&sample("embodia/consult-mixed.json")).unwrap();
    let mut tom = mixed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["participant"]["email"].is_null())
        .expect("the sample has an item with a null email")
        .clone();
    tom["event"] = json!("participant.added");
    tom
}

#[tokio::test]
async fn embodias_null_email_fails_the_run_and_creates_no_nameless_contact() {
    let app = spawn_app().await;
    let tom = embodia_item_without_email();
    let name = tom["participant"]["name"].as_str().unwrap().to_string();
    let answer = app.post_json("embodia-consults", &json!([tom])).await;
    assert_eq!(item_statuses(&answer), ["accepted"]);
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["steps"][0]["kind"], "find_contact");
    assert!(run["steps"][0]["input"]["email"].is_null(), "{run}");
    assert!(run["error"].as_str().unwrap().contains("no email or phone"));
    assert!(app.contacts("").await.is_empty());
    let last = name.split_whitespace().last().unwrap();
    assert!(app.contacts(&format!("q={last}")).await.is_empty());
}
