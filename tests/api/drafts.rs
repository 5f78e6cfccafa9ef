//! Drafts: every item is captured, counted like a published workflow's, and nothing runs.

use crate::helpers::*;

const DRAFT: &str = "name: Few drafts\nstatus: draft\ntrigger:\n  inbound_webhook:\n    limits: {max_items: 3}\nsteps: []\n";
const SPLIT: &str = "name: Split draft\nstatus: draft\ntrigger:\n  inbound_webhook:\n    split: \"$.visits[*]\"\nsteps: []\n";

fn item_statuses(answer: &serde_json::Value) -> Vec<(u64, String, bool)> {
    let items = answer["items"].as_array().expect("items");
    items
        .iter()
        .map(|i| {
            let status = i["status"].as_str().unwrap().to_string();
            (i["index"].as_u64().unwrap(), status, i["run_id"].is_null())
        })
        .collect()
}

/// Posts JSON to `hook` and checks the 200 answer captured `n` items and queued no run.
async fn post_captured(app: &TestApp, hook: &str, body: &'static str, n: u64) -> serde_json::Value {
    let (s, a) = app.post_hook(hook, "application/json", body).await;
    assert_eq!(s, 200, "{a}");
    let captured: Vec<_> = (0..n).map(|i| (i, "captured".to_string(), true)).collect();
    assert_eq!(item_statuses(&a), captured);
    a
}

#[tokio::test]
async fn a_draft_captures_one_item_per_element_or_split_match_and_refuses_more_than_max_items() {
    let dir = workflows_dir(&[("few.yaml", DRAFT), ("split.yaml", SPLIT)]);
    let opts = Options {
        workflows: dir.path().to_path_buf(),
        ..Options::default()
    };
    let app = spawn_with(opts).await;

    let a = post_captured(&app, "few", r#"[{"a": 1}, {"a": 2}, {"a": 3}]"#, 3).await;
    assert_eq!(a["status"], "captured");
    let logged = app.request(a["request_id"].as_str().unwrap()).await;
    assert_eq!(logged["status"], "captured");
    assert_eq!(logged["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        logged["payload"],
        serde_json::json!([{"a": 1}, {"a": 2}, {"a": 3}])
    );
    assert!(logged.get("payload_is_body").is_none(), "{logged}");

    let (s, a) = app
        .post_hook("few", "application/json", "[{}, {}, {}, {}]")
        .await;
    assert_eq!(s, 413, "{a}");
    assert_eq!(a["error"]["code"], "payload_too_large");

    post_captured(&app, "split", r#"{"visits": [{"id": 1}, {"id": 2}]}"#, 2).await;
    let (s, a) = app
        .post_hook("split", "application/json", r#"{"visits": "none"}"#)
        .await;
    assert_eq!((s, a["status"].as_str()), (200, Some("filtered")), "{a}");
    assert!(app.runs("").await.is_empty(), "a draft runs nothing");
}
