//! Hostile senders (issue 8): forged payloads under a signature, auth before the rate limit,
//! requests that would become unbounded work, a flood of rejected requests, and 503s that must
//! not lose what was sent.

use crate::helpers::*;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::time::Duration;

const HMAC_WF: &str = "name: Signed\ntrigger:\n  inbound_webhook:\n    auth: {type: hmac, header: X-Sig, secret: \"${SIG_SECRET}\", prefix: \"sha256=\"}\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n";
const STANDARD_WF: &str = "name: Standard\ntrigger:\n  inbound_webhook:\n    auth: {type: standard_webhooks, secret: \"${WHSEC}\"}\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n";
const BEARER_WF: &str = "name: Bearer\ntrigger:\n  inbound_webhook:\n    auth: {type: bearer, token: \"${TOK}\"}\n    limits: {rate: 5/s}\nsteps: []\n";
const FEW_WF: &str =
    "name: Few\ntrigger:\n  inbound_webhook:\n    limits: {max_items: 3}\nsteps: []\n";
const OPEN_WF: &str =
    "name: Open\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n";
/// The Standard Webhooks secret of the spec's examples (base64 of 24 bytes).
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn app() -> (TestApp, tempfile::TempDir) {
    spawn_workflows_env(
        &[
            ("signed.yaml", HMAC_WF),
            ("standard.yaml", STANDARD_WF),
            ("bearer.yaml", BEARER_WF),
            ("few.yaml", FEW_WF),
            ("open.yaml", OPEN_WF),
        ],
        &[
            ("SIG_SECRET", "shh"),
            ("WHSEC", WHSEC),
            ("TOK", "right-token"),
        ],
    )
    .await
}

/// `sha256=<hex HMAC of body>` with the test secret.
fn github_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"shh").unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The Standard Webhooks headers signing `body` now.
fn standard_headers(id: &str, body: &[u8]) -> Vec<(String, String)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(WHSEC.trim_start_matches("whsec_")).unwrap();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let sig = b64.encode(mac.finalize().into_bytes());
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts),
        ("webhook-signature".into(), format!("v1,{sig}")),
    ]
}

/// Every logged request of a workflow with a status (all pages).
async fn logged(app: &TestApp, workflow: &str, status: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get_ok(&format!(
                "/api/requests?workflow={workflow}&status={status}&limit=1000{cursor}"
            ))
            .await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return items,
        }
    }
}

#[tokio::test]
async fn a_signature_of_the_empty_body_cannot_authorise_a_query_string_payload() {
    let (app, _dir) = app().await;
    let forged = format!("{}?email=forged@evil.test", app.url("signed"));
    let empty_sig = github_signature(b"");
    let (s, a) = app
        .send(app.client.get(&forged).header("X-Sig", &empty_sig))
        .await;
    assert_eq!((s, &a["error"]["code"]), (401, &"unauthorized".into()));
    let (s, _) = app
        .send(app.client.post(&forged).header("X-Sig", &empty_sig))
        .await;
    assert_eq!(s, 401, "an empty POST body is not signed bytes either");
    let forged = format!("{}?email=forged@evil.test", app.url("standard"));
    let mut req = app.client.post(&forged);
    for (k, v) in standard_headers("msg_forged", b"") {
        req = req.header(k, v);
    }
    assert_eq!(app.send(req).await.0, 401, "standard_webhooks too");
    assert!(app.contacts("q=forged@evil.test").await.is_empty());
    let rejected = logged(&app, "signed", "rejected").await;
    assert_eq!(rejected.len(), 2, "both refusals are logged");

    // A signed body still works: the refusal is about what is signed, not about the form.
    let body = br#"{"email": "real@example.com"}"#;
    let (s, a) = app
        .send(
            app.client
                .post(app.url("signed"))
                .header("X-Sig", github_signature(body))
                .header("content-type", "application/json")
                .body(&body[..]),
        )
        .await;
    assert_eq!(s, 200, "{a}");
}

#[tokio::test]
async fn requests_that_fail_auth_never_spend_the_rate_limit() {
    let (app, _dir) = app().await;
    for _ in 0..30 {
        let (s, _) = app.post_bearer("bearer", Some("wrong-token")).await;
        assert_eq!(s, 401);
    }
    let (s, a) = app.post_bearer("bearer", Some("right-token")).await;
    assert_eq!(s, 200, "the right token after 30 wrong ones: {a}");
}

#[tokio::test]
async fn a_request_with_more_items_than_max_items_is_413_and_nothing_of_it_runs() {
    let (app, _dir) = app().await;
    let (s, a) = app
        .post_hook("few", "application/json", "[{}, {}, {}, {}]")
        .await;
    assert_eq!(s, 413, "{a}");
    assert_eq!(a["error"]["code"], "payload_too_large");
    let msg = a["error"]["message"].as_str().unwrap();
    assert!(msg.contains('4') && msg.contains('3'), "{msg}");
    let (s, _) = app
        .post_hook("few", "application/json", "[{}, {}, {}]")
        .await;
    assert_eq!(s, 200, "the limit itself is allowed");

    // The default limit is 1000: the probe's 100,000 `{}` is refused whole.
    let flood = format!("[{}{{}}]", "{},".repeat(100_000 - 1));
    let (s, a) = app.post_hook("open", "application/json", flood).await;
    assert_eq!(s, 413, "{a}");
    let msg = a["error"]["message"].as_str().unwrap();
    assert!(msg.contains("100000") && msg.contains("1000"), "{msg}");
    assert!(app.runs("workflow=open").await.is_empty(), "nothing ran");
    let rejected = logged(&app, "open", "rejected").await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["http_status"], 413);
}

#[tokio::test]
async fn the_rejected_log_keeps_the_newest_thousand_per_workflow_with_bodies_cut_at_64_kib() {
    use futures_util::StreamExt;
    let (app, _dir) = app().await;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(200_000));
    let (s, _) = app.post_hook("signed", "application/json", big).await;
    assert_eq!(s, 401);
    let first = logged(&app, "signed", "rejected").await;
    let first_id = first[0]["id"].as_str().unwrap().to_string();
    let view = app.request(&first_id).await;
    assert_eq!(view["body_truncated"], true, "{}", view["body_size"]);
    assert!(view["body"].as_str().unwrap().len() <= 64 * 1024);
    assert!(view["body_size"].as_u64().unwrap() > 200_000);

    let statuses: Vec<u16> = futures_util::stream::iter(0..1_005)
        .map(|i| app.post_hook("signed", "application/json", format!("{{\"n\": {i}}}")))
        .buffer_unordered(8)
        .map(|(s, _)| s)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 401));
    let kept = logged(&app, "signed", "rejected").await;
    assert_eq!(
        kept.len(),
        1_000,
        "at most 1,000 rejected requests per workflow"
    );
    let (s, _) = app.get(&format!("/api/requests/{first_id}")).await;
    assert_eq!(s, 404, "the oldest rejected request is gone");
    // Another workflow's rejected requests are counted apart.
    assert_eq!(app.post_hook("few", "text/html", "<p>").await.0, 415);
    assert_eq!(logged(&app, "few", "rejected").await.len(), 1);
    assert_eq!(logged(&app, "signed", "rejected").await.len(), 1_000);
}

const BROKEN: &str = "name: Was broken\nstepz: []\n";

#[tokio::test]
async fn a_request_to_a_broken_workflow_is_logged_and_replayed_once_it_loads() {
    let (app, dir) = spawn_workflows(&[
        ("later.yaml", BROKEN),
        (
            "nosecret.yaml",
            "name: No secret\ntrigger:\n  inbound_webhook:\n    auth: {type: header, name: X-Clinic-Key, value: \"${HOOKFLOW_TEST_UNSET_SECRET}\"}\nsteps: []\n",
        ),
    ]).await;
    let body = r#"{"email": "waited@example.com"}"#;
    let (s, a) = app.post_hook("later", "application/json", body).await;
    assert_eq!(
        (s, &a["error"]["code"]),
        (503, &"workflow_unavailable".into())
    );
    let logged_503 = logged(&app, "later", "rejected").await;
    assert_eq!(logged_503.len(), 1, "the 503 is logged");
    let id = logged_503[0]["id"].as_str().unwrap().to_string();
    let view = app.request(&id).await;
    assert_eq!(
        (view["http_status"].as_u64(), view["body"].as_str()),
        (Some(503), Some(body))
    );
    let replay = format!("{}/api/requests/{id}/replay", app.base);
    let (s, _) = app.send(app.client.post(&replay)).await;
    assert_eq!(s, 503, "not replayable while the workflow is broken");

    let (s, _) = app
        .send(
            app.client
                .post(app.url("nosecret"))
                .header("X-Clinic-Key", "key-PLUGH")
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(s, 503, "an unset secret");
    let unset = logged(&app, "nosecret", "rejected").await;
    let view = app.request(unset[0]["id"].as_str().unwrap()).await;
    assert!(
        !view.to_string().contains("key-PLUGH"),
        "unknown auth: headers masked: {view}"
    );

    std::fs::write(dir.path().join("later.yaml"), OPEN_WF).unwrap();
    eventually("the fix to load", Duration::from_secs(10), || async {
        app.workflow("later").await["error"].is_null().then_some(())
    })
    .await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["replay", &id, "--json", "--server", &app.base])
        .output()
        .unwrap();
    stdout_ok(&out);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["answer"]["status"], "accepted", "{printed}");
    assert_eq!(printed["runs"][0]["status"], "succeeded", "{printed}");
    app.contact_by_email("waited@example.com").await;
    let (s, a) = app.send(app.client.post(&replay)).await;
    assert_eq!(s, 200, "the API replays it too: {a}");
}
