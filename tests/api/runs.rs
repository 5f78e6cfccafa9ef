//! Runs end to end: each step's record, the contact it leaves behind (fields, tags, custom
//! fields, timeline), failures that stop a run, filters, splits, branches and dedupe.

use crate::helpers::*;
use serde_json::json;

const ALL_STEPS: &str = r#"name: All steps
mapping:
  email: $.email
  name: $.name
steps:
  - find_contact: {email: "{{ email }}", first_name: "{{ name }}", create: true}
  - update_contact: {last_name: Doe, custom: {visits: "{{ trigger.visits }}", note: "seen {{ name }}"}}
  - add_tag: [Booked, "{{ trigger.kind }}"]
  - add_tag: BOOKED
  - remove_tag: Cancelled
  - set_dnd: true
"#;

#[tokio::test]
async fn a_run_records_every_step_and_leaves_one_timeline_entry_per_change() {
    let (app, _dir) = spawn_workflows(&[("all.yaml", ALL_STEPS)]).await;
    let answer = app
        .post_json(
            "all",
            &json!({"email": "Ann@Example.com", "name": "Ann", "visits": 3, "kind": "vip"}),
        )
        .await;
    assert_eq!(answer["status"], "accepted");
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["workflow"], "all");
    assert_eq!(run["request_id"], answer["request_id"]);
    assert_eq!(
        step_kinds(&run),
        [
            ("find_contact", "succeeded"),
            ("update_contact", "succeeded"),
            ("add_tag", "succeeded"),
            ("add_tag", "noop"),
            ("remove_tag", "noop"),
            ("set_dnd", "succeeded"),
        ]
        .map(|(k, s)| (k.to_string(), s.to_string()))
    );
    let steps = run["steps"].as_array().unwrap();
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(step["path"], json!([i]));
        assert!(step["error"].is_null(), "{step}");
    }
    assert_eq!(steps[0]["input"]["email"], "Ann@Example.com");
    assert_eq!(steps[0]["output"]["created"], true);
    assert_eq!(
        steps[1]["input"]["custom"],
        json!({"visits": 3, "note": "seen Ann"})
    );
    assert_eq!(steps[2]["output"]["added"], json!(["Booked", "vip"]));

    let id = run["contact_id"].as_str().unwrap();
    assert_eq!(steps[0]["output"]["contact_id"], id);
    let contact = app.contact(id).await;
    assert_eq!(contact["email"], "ann@example.com");
    assert_eq!(contact["first_name"], "Ann");
    assert_eq!(contact["last_name"], "Doe");
    assert_eq!(contact["tags"], json!(["Booked", "vip"]));
    assert_eq!(contact["custom"], json!({"visits": 3, "note": "seen Ann"}));
    assert_eq!(contact["dnd"], true);
    assert_eq!(contact["source"], "all");
    let timeline = contact["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 4, "create, update, tags, dnd: {timeline:?}");
    let run_id = run["id"].as_str().unwrap();
    for step in ["[0]", "[1]", "[2]", "[5]"] {
        assert_eq!(entries_of(&contact, run_id, step).len(), 1, "step {step}");
    }
    assert_eq!(
        entries_of(&contact, run_id, "[2]")[0]["changes"]["tags_added"],
        json!(["Booked", "vip"])
    );
    assert_eq!(
        app.runs(&format!("contact={id}")).await.len(),
        1,
        "the run is listed under its contact"
    );
}

const UNDEFINED: &str = r#"name: Undefined
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - add_tag: First
  - update_contact: {first_name: Kim, custom: {plan: "{{ trigger.plan }}", typo: "{{ trigger.plna }}"}}
  - add_tag: Never
"#;

#[tokio::test]
async fn an_undefined_template_variable_fails_the_run_and_that_step_changes_nothing() {
    let (app, _dir) = spawn_workflows(&[("undefined.yaml", UNDEFINED)]).await;
    let answer = app
        .post_json(
            "undefined",
            &json!({"email": "kim@example.com", "plan": "gold"}),
        )
        .await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(
        step_kinds(&run),
        [
            ("find_contact", "succeeded"),
            ("add_tag", "succeeded"),
            ("update_contact", "failed"),
        ]
        .map(|(k, s)| (k.to_string(), s.to_string())),
        "the run stops at the failed step"
    );
    let failed = &run["steps"][2];
    let message = failed["error"].as_str().unwrap();
    assert!(message.contains("plna"), "names the culprit: {message}");
    assert_eq!(failed["path"], json!([2]));
    assert_eq!(
        run["error"], failed["error"],
        "the run carries the step's error"
    );

    let contact = app.contact_by_email("kim@example.com").await;
    assert_eq!(
        contact["tags"],
        json!(["First"]),
        "earlier steps stay applied"
    );
    assert!(contact["first_name"].is_null(), "{contact}");
    assert_eq!(contact["custom"], json!({}), "nothing of the failed step");
    let run_id = run["id"].as_str().unwrap();
    assert!(entries_of(&contact, run_id, "[2]").is_empty());
    assert_eq!(contact["timeline"].as_array().unwrap().len(), 2);
    assert_eq!(app.runs("status=failed").await.len(), 1);
}

const SPLIT: &str = r#"name: Split and filter
trigger:
  inbound_webhook:
    split: "$.events[*]"
    filter: "trigger.kind == 'booked'"
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - add_tag: Booked
"#;

#[tokio::test]
async fn a_split_body_runs_each_item_the_filter_lets_through_and_no_other() {
    let (app, _dir) = spawn_workflows(&[("split.yaml", SPLIT)]).await;
    let answer = app
        .post_json(
            "split",
            &json!({"events": [
                {"kind": "booked", "email": "a@example.com"},
                {"kind": "paid", "email": "b@example.com"},
                {"email": "c@example.com"},
                {"kind": "booked", "email": "d@example.com"},
            ]}),
        )
        .await;
    assert_eq!(answer["status"], "accepted");
    assert_eq!(
        item_statuses(&answer),
        ["accepted", "filtered", "filtered", "accepted"],
        "an item without `kind` errors in the filter, which counts as no match"
    );
    for item in answer["items"].as_array().unwrap() {
        assert_eq!(
            item["run_id"].is_string(),
            item["status"] == "accepted",
            "{item}"
        );
    }
    let runs = app.wait_runs_of(&answer).await;
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
    for email in ["a@example.com", "d@example.com"] {
        assert_eq!(app.contact_by_email(email).await["tags"], json!(["Booked"]));
    }
    assert_eq!(app.contacts("").await.len(), 2, "nobody for filtered items");
    assert_eq!(app.runs("workflow=split").await.len(), 2);

    let none = app
        .post_json(
            "split",
            &json!({"events": [{"kind": "paid", "email": "e@example.com"}]}),
        )
        .await;
    assert_eq!(none["status"], "filtered");
    assert_eq!(app.runs("workflow=split").await.len(), 2, "no run for it");
}

const BRANCH: &str = r#"name: Branch
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - if:
      condition: "has_tag('vip') or trigger.vip"
      then:
        - add_tag: Priority
        - set_dnd: false
      else:
        - add_tag: Standard
  - add_tag: Seen
"#;

#[tokio::test]
async fn an_if_step_runs_only_the_branch_its_condition_picks() {
    let (app, _dir) = spawn_workflows(&[("branch.yaml", BRANCH)]).await;
    let vip = app
        .post_json("branch", &json!({"email": "v@example.com", "vip": true}))
        .await;
    let run = app.wait_runs_of(&vip).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    let paths: Vec<_> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].clone())
        .collect();
    assert_eq!(
        paths,
        [
            json!([0]),
            json!([1]),
            json!([1, "then", 0]),
            json!([1, "then", 1]),
            json!([2])
        ]
    );
    assert_eq!(run["steps"][1]["output"]["branch"], "then");
    assert_eq!(run["steps"][3]["status"], "noop", "dnd was already off");
    let contact = app.contact_by_email("v@example.com").await;
    assert_eq!(contact["tags"], json!(["Priority", "Seen"]));
    let run_id = run["id"].as_str().unwrap();
    assert_eq!(entries_of(&contact, run_id, "[1,\"then\",0]").len(), 1);

    let plain = app
        .post_json("branch", &json!({"email": "p@example.com", "vip": false}))
        .await;
    let run = app.wait_runs_of(&plain).await.remove(0);
    assert_eq!(run["steps"][2]["path"], json!([1, "else", 0]));
    assert_eq!(
        app.contact_by_email("p@example.com").await["tags"],
        json!(["Standard", "Seen"])
    );
}

const DEDUPE: &str = r#"name: Dedupe
trigger:
  inbound_webhook:
    dedupe: "{{ trigger.booking }}"
    dedupe_window: 24h
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - update_contact: {custom: {booking: "{{ trigger.booking }}"}}
  - add_tag: Booked
"#;

#[tokio::test]
async fn a_retried_booking_is_acknowledged_but_not_run_twice() {
    let (app, _dir) = spawn_workflows(&[("dedupe.yaml", DEDUPE)]).await;
    let body = json!({"email": "r@example.com", "booking": "B-1"});
    let first = app.post_json("dedupe", &body).await;
    app.wait_runs_of(&first).await;
    let again = app.post_json("dedupe", &body).await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(item_statuses(&again), ["duplicate"]);
    assert!(again["items"][0]["run_id"].is_null(), "{again}");
    let other = app
        .post_json(
            "dedupe",
            &json!({"email": "r@example.com", "booking": "B-2"}),
        )
        .await;
    let run = app.wait_runs_of(&other).await.remove(0);
    assert_eq!(step_kinds(&run)[2], ("add_tag".into(), "noop".into()));
    assert_eq!(app.runs("workflow=dedupe").await.len(), 2);
    let contact = app.contact_by_email("r@example.com").await;
    assert_eq!(contact["custom"]["booking"], "B-2");
    assert_eq!(
        contact["timeline"].as_array().unwrap().len(),
        4,
        "create, booking B-1, tag, booking B-2: {contact}"
    );
}

const LOOKUP: &str = r#"name: Lookup
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}"}
  - if:
      condition: "contact is none"
      then: []
      else: [ {add_tag: Known} ]
"#;

#[tokio::test]
async fn find_contact_without_create_lets_a_miss_go_on_with_no_contact() {
    let (app, _dir) = spawn_workflows(&[("lookup.yaml", LOOKUP), ("all.yaml", ALL_STEPS)]).await;
    let miss = app
        .post_json("lookup", &json!({"email": "x@example.com"}))
        .await;
    let run = app.wait_runs_of(&miss).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["contact_id"].is_null());
    assert!(run["steps"][0]["output"]["contact_id"].is_null());
    assert_eq!(run["steps"][1]["output"]["branch"], "then");
    assert!(app.contacts("").await.is_empty(), "nobody was created");

    let made = app
        .post_json(
            "all",
            &json!({"email": "x@example.com", "name": "X", "kind": "k", "visits": 1}),
        )
        .await;
    app.wait_runs_of(&made).await;
    let hit = app
        .post_json("lookup", &json!({"email": "X@example.com"}))
        .await;
    let run = app.wait_runs_of(&hit).await.remove(0);
    assert_eq!(run["steps"][0]["output"]["matched_by"], "email");
    assert!(app.contact_by_email("x@example.com").await["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("Known")));
}

#[tokio::test]
async fn a_workflow_with_no_steps_yet_runs_and_succeeds_with_nothing_done() {
    let (app, _dir) = spawn_workflows(&[("new.yaml", "name: Being built\nsteps: []\n")]).await;
    for n in 0..3 {
        let answer = app
            .post_json("new", &json!({"email": "ann@example.com", "n": n}))
            .await;
        assert_eq!(answer["status"], "accepted");
        let run = app.wait_runs_of(&answer).await.remove(0);
        assert_eq!(run["status"], "succeeded", "{run}");
        assert!(run["error"].is_null(), "{run}");
        assert_eq!(run["steps"], json!([]));
        assert!(run["finished_at"].is_string(), "{run}");
    }
    assert!(app.runs("status=failed").await.is_empty());
}
