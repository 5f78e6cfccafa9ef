//! Capture: inbound URLs, body kinds, answers and the request log (the reference: `capture_reference`).

use crate::helpers::*;
use serde_json::json;

const OPEN: &str = "name: Open hook\nmapping:\n  email: $.email\nsteps:\n  - add_tag: Booked\n";
const DRAFT: &str = "name: Draft hook\nstatus: draft\nsteps: []\n";
const SMALL: &str =
    "name: Small hook\ntrigger:\n  inbound_webhook:\n    limits: {max_body: 1KiB}\nsteps: []\n";
const BEARER: &str = "name: Bearer hook\ntrigger:\n  inbound_webhook:\n    auth: {type: bearer, token: \"${TEST_HOOK_TOKEN}\"}\nsteps: []\n";
const LIMITED: &str = "name: Limited hook\ntrigger:\n  inbound_webhook:\n    limits: {rate: 1/s, burst: 2}\nsteps: []\n";

/// A server with one workflow of each kind the capture tests need (one of them broken).
pub(crate) async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = workflows_dir(&[
        ("open.yaml", OPEN),
        ("draft.yaml", DRAFT),
        ("small.yaml", SMALL),
        ("bearer.yaml", BEARER),
        ("limited.yaml", LIMITED),
        ("broken.yaml", "name: Broken\nstepz: []\n"),
    ]);
    let opts = Options {
        workflows: dir.path().to_path_buf(),
        env: vec![("TEST_HOOK_TOKEN".into(), "s3cret-token".into())],
        ..Options::default()
    };
    (spawn_with(opts).await, dir)
}

#[tokio::test]
async fn every_workflow_has_its_own_secret_url_that_survives_a_restart() {
    let (app, _dir) = app().await;
    let before = app.urls.clone();
    assert_eq!(before.len(), 6, "{before:?}");
    let hooks: std::collections::HashSet<_> = before
        .values()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(hooks.len(), 6, "hook ids are distinct");
    for h in &hooks {
        assert_eq!(h.len(), 32);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    }
    assert!(app.banner[0].starts_with("listening on http://127.0.0.1:"));
    assert!(app.banner.iter().any(
        |l| l.starts_with("open\t") && l.ends_with(before["open"].rsplit('/').next().unwrap())
    ));
    let app = app.restart().await;
    let after_hooks: std::collections::HashSet<_> = app
        .urls
        .values()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(hooks, after_hooks);
}

#[tokio::test]
async fn a_json_post_is_acknowledged_with_its_request_and_run_ids_and_logged() {
    let (app, _dir) = app().await;
    let body = r#"{"email": "jane@example.com", "firstName": "Jane"}"#;
    let (status, answer) = app.post_hook("open", "application/json", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["workflow"], "open");
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["index"], 0);
    assert_eq!(items[0]["status"], "accepted");
    assert_eq!(items[0]["run_id"].as_str().unwrap().len(), 26, "a ULID");
    let logged = app.request(answer["request_id"].as_str().unwrap()).await;
    assert_eq!(logged["status"], "accepted");
    assert_eq!(logged["method"], "POST");
    assert_eq!(logged["body"], body);
    assert_eq!(logged["payload"]["firstName"], "Jane");
    assert_eq!(logged["items"][0]["run_id"], items[0]["run_id"]);
    assert!(logged["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
}

#[tokio::test]
async fn a_top_level_array_is_split_into_one_item_per_element() {
    let (app, _dir) = app().await;
    let body = r#"[{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": null}]"#;
    let (status, answer) = app.post_hook("open", "application/json", body).await;
    assert_eq!(status, 200);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let runs: std::collections::HashSet<_> = items
        .iter()
        .map(|i| i["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(runs.len(), 3);
    assert!(items
        .iter()
        .enumerate()
        .all(|(n, i)| i["index"] == n && i["status"] == "accepted"));
}

#[tokio::test]
async fn form_text_plain_and_query_only_bodies_are_payloads_too() {
    let (app, _dir) = app().await;
    let (s, a) = app
        .post_hook(
            "open",
            "application/x-www-form-urlencoded",
            "patient_name=Ana%20Lima&patient_email=ana%40example.com",
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let r = app.request(a["request_id"].as_str().unwrap()).await;
    assert_eq!(
        r["payload"],
        json!({"patient_name": "Ana Lima", "patient_email": "ana@example.com"})
    );

    let (s, a) = app
        .post_hook("open", "text/plain", r#"{"email": "t@example.com"}"#)
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        app.request(a["request_id"].as_str().unwrap()).await["payload"]["email"],
        "t@example.com"
    );

    let url = format!("{}?email=q%40example.com&src=GHL", app.url("open"));
    let (s, a) = app.send(app.client.get(url)).await;
    assert_eq!(s, 200, "{a}");
    let r = app.request(a["request_id"].as_str().unwrap()).await;
    assert_eq!(
        r["payload"],
        json!({"email": "q@example.com", "src": "GHL"})
    );
    assert_eq!(r["method"], "GET");
}

#[tokio::test]
async fn a_chunked_body_without_content_length_is_accepted() {
    let (app, _dir) = app().await;
    let chunks: Vec<Result<&'static str, std::io::Error>> =
        vec![Ok("{\"email\": "), Ok("\"chunk@example.com\"}")];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (s, a) = app.post_hook("open", "application/json", body).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        app.request(a["request_id"].as_str().unwrap()).await["payload"]["email"],
        "chunk@example.com"
    );
}

#[tokio::test]
async fn broken_bodies_get_a_clear_400_with_line_and_column_and_are_logged_as_rejected() {
    let (app, _dir) = app().await;
    let commented = "{ \"version\": \"2.0\",\n  \"note\": { \"id\": 1, \"status\": \"signed\" // new, signed, draft\n } }";
    let (s, a) = app.post_hook("open", "application/json", commented).await;
    assert_eq!(s, 400);
    assert_eq!(a["error"]["code"], "bad_request");
    let msg = a["error"]["message"].as_str().unwrap();
    assert!(msg.contains("line 2"), "{msg}");
    assert!(msg.contains("column"), "{msg}");

    let (s, a) = app
        .post_hook(
            "open",
            "application/json",
            "{\"email\": \"a@x.com\",\n \"email\": \"b@x.com\"}",
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate key"),
        "{a}"
    );

    let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
    let (s, a) = app.post_hook("open", "application/json", deep).await;
    assert_eq!(s, 400, "{a}");
    let ok_deep = format!("{{\"a\":{}1{}}}", "[".repeat(63), "]".repeat(63));
    let (s, a) = app.post_hook("open", "application/json", ok_deep).await;
    assert_eq!(s, 200, "64 levels are fine: {a}");

    let (s, a) = app.post_hook("open", "application/xml", "<a/>").await;
    assert_eq!(s, 415);
    assert_eq!(a["error"]["code"], "unsupported_media_type");

    let rejected = app
        .get_ok("/api/requests?workflow=open&status=rejected")
        .await;
    let items = rejected["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{rejected}");
    assert!(items
        .iter()
        .all(|r| r["status"] == "rejected" && r["reason"].is_string()));
    let codes: Vec<_> = items
        .iter()
        .map(|r| r["http_status"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, vec![415, 400, 400, 400]);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_even_when_chunked() {
    let (app, _dir) = app().await;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2000));
    let (s, a) = app
        .post_hook("small", "application/json", big.clone())
        .await;
    assert_eq!(s, 413, "{a}");
    assert_eq!(a["error"]["code"], "payload_too_large");
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(100)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let sent = app
        .client
        .post(app.url("small"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The server answers 413 as soon as the stream passes the limit and stops reading; a client
    // still sending may see the connection close before it reads that answer.
    if let Ok(resp) = sent {
        assert_eq!(resp.status(), 413);
    }
    let logged = app.get_ok("/api/requests?workflow=small").await;
    assert_eq!(
        logged["items"].as_array().unwrap().len(),
        2,
        "both refusals are logged"
    );
    let first = &logged["items"][0];
    assert_eq!(first["http_status"], 413);
    let detail = app.request(first["id"].as_str().unwrap()).await;
    assert_eq!(detail["body_truncated"], true);
    assert_eq!(
        detail["body"].as_str().unwrap().len(),
        1024,
        "the body is logged up to the limit"
    );
}

#[tokio::test]
async fn unknown_hooks_are_404_and_other_methods_405() {
    let (app, _dir) = app().await;
    let (s, a) = app
        .send(
            app.client
                .post(format!("{}/hooks/{}", app.base, "0".repeat(32)))
                .body("{}"),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(a["error"]["code"], "not_found");
    let (s, a) = app.send(app.client.delete(app.url("open"))).await;
    assert_eq!(s, 405);
    assert_eq!(a["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_wrong_token_is_401_without_a_hint_and_logged_with_secrets_masked() {
    let (app, _dir) = app().await;
    let (s, a) = app.post_bearer("bearer", Some("wrong")).await;
    assert_eq!(s, 401);
    assert_eq!(a["error"]["code"], "unauthorized");
    assert!(
        !a["error"]["message"].as_str().unwrap().contains("Bearer"),
        "no hint: {a}"
    );
    let (s, _) = app.post_bearer("bearer", None).await;
    assert_eq!(s, 401);
    let (s, a) = app.post_bearer("bearer", Some("s3cret-token")).await;
    assert_eq!(s, 200, "{a}");
    let rejected = app
        .get_ok("/api/requests?workflow=bearer&status=rejected")
        .await;
    let id = rejected["items"][1]["id"].as_str().unwrap().to_string();
    let detail = app.request(&id).await;
    let text = detail.to_string();
    assert!(!text.contains("wrong\""), "the token is masked: {text}");
    let auth = detail["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap();
    assert_eq!(auth[1], "Bearer ****");
    assert!(detail["reason"].as_str().unwrap().len() > 5);
}

#[tokio::test]
async fn a_draft_workflow_captures_without_queueing_a_run() {
    let (app, _dir) = app().await;
    let (s, a) = app
        .post_hook("draft", "application/json", r#"{"member_id": "60610"}"#)
        .await;
    assert_eq!(s, 200);
    assert_eq!(a["status"], "captured");
    assert_eq!(a["items"][0]["status"], "captured");
    assert!(a["items"][0]["run_id"].is_null());
    assert_eq!(
        app.workflow("draft").await["reference"]["payload"]["member_id"],
        "60610"
    );
}

#[tokio::test]
async fn a_broken_workflow_file_is_reported_and_does_not_stop_the_others() {
    let (app, _dir) = app().await;
    let wf = app.workflow("broken").await;
    let err = &wf["error"];
    assert_eq!(err["line"], 2, "{wf}");
    assert!(err["message"].as_str().unwrap().contains("stepz"), "{wf}");
    assert!(err["file"].as_str().unwrap().ends_with("broken.yaml"));
    let (s, a) = app.post_hook("broken", "application/json", "{}").await;
    assert_eq!(s, 503, "{a}");
    let (s, _) = app.post_hook("open", "application/json", "{}").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_flood_beyond_the_rate_limit_gets_429_with_retry_after() {
    let (app, _dir) = app().await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let resp = app
            .client
            .post(app.url("limited"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            retry_after = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let rejected = app
        .get_ok("/api/requests?workflow=limited&status=rejected")
        .await;
    let logged = rejected["items"].as_array().unwrap();
    assert_eq!(logged.len(), limited, "every 429 is logged as rejected");
    assert!(logged.iter().all(|r| r["http_status"] == 429));
}

#[tokio::test]
async fn rotating_a_hook_retires_the_old_url() {
    let (app, _dir) = app().await;
    let old = app.url("open").to_string();
    let (s, wf) = app
        .send(
            app.client
                .post(format!("{}/api/workflows/open/rotate", app.base)),
        )
        .await;
    assert_eq!(s, 200);
    let new = wf["url"].as_str().unwrap();
    assert_ne!(new, old);
    let (s, _) = app
        .send(
            app.client
                .post(&old)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .send(
            app.client
                .post(new)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(s, 200);
}
