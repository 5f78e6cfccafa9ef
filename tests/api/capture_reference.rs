//! The reference payload: the first request a workflow captures, until an admin picks another;
//! a rejected request never becomes it. Same workflows as `capture`.

use crate::capture::app;
use serde_json::{json, Value};

#[tokio::test]
async fn the_first_payload_is_the_reference_until_an_admin_picks_another() {
    let (app, _dir) = app().await;
    assert!(app.workflow("open").await["reference"].is_null());
    let first = json!({"email": "first@example.com", "@type": "MessageCard", "data": {"items": [{"total": 25}], "empty": {}}});
    let (_, a1) = app
        .post_hook("open", "application/json", first.to_string())
        .await;
    let (_, a2) = app
        .post_hook(
            "open",
            "application/json",
            r#"{"email": "second@example.com"}"#,
        )
        .await;
    let wf = app.workflow("open").await;
    let reference = &wf["reference"];
    assert_eq!(reference["request_id"], a1["request_id"]);
    assert_eq!(reference["payload"], first);
    let fields: Vec<(String, Value)> = reference["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["value"].clone()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("$.email".to_string(), json!("first@example.com")),
            ("$['@type']".to_string(), json!("MessageCard")),
            ("$.data.items[0].total".to_string(), json!(25)),
            ("$.data.empty".to_string(), json!({})),
        ]
    );
    let put = app
        .client
        .put(format!("{}/api/workflows/open/reference", app.base))
        .json(&json!({"request_id": a2["request_id"]}));
    let (s, wf) = app.send(put).await;
    assert_eq!(s, 200, "{wf}");
    assert_eq!(wf["reference"]["request_id"], a2["request_id"]);
    let (s, wf) = app
        .send(
            app.client
                .delete(format!("{}/api/workflows/open/reference", app.base)),
        )
        .await;
    assert_eq!(s, 200);
    assert!(wf["reference"].is_null());
    let (_, a3) = app
        .post_hook(
            "open",
            "application/json",
            r#"{"email": "third@example.com"}"#,
        )
        .await;
    assert_eq!(
        app.workflow("open").await["reference"]["request_id"],
        a3["request_id"]
    );
}

#[tokio::test]
async fn a_rejected_request_never_becomes_the_reference() {
    let (app, _dir) = app().await;
    let (s, _) = app.post_hook("open", "application/json", "{not json").await;
    assert_eq!(s, 400);
    assert!(app.workflow("open").await["reference"].is_null());
}
