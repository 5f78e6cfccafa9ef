//! `GET /metrics`: Prometheus text behind the admin token, whose counters move with real
//! requests, runs and emails, and whose labels never carry a hook id or a patient's values.

use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const WELCOME: &str = r#"name: Welcome
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", first_name: "{{ trigger.name }}", create: true}
  - send_email: {subject: "Hi {{ contact.first_name }}", body: "Hello"}
"#;

const FAILS: &str = r#"name: Fails
steps:
  - find_contact: {email: "{{ trigger.email }}", create: true}
  - update_contact: {custom: {plan: "{{ trigger.missing_field }}"}}
"#;

const TOKEN: &str = "metrics-admin-token";

/// One sample: the metric name, its labels and its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a Prometheus text page (comments skipped).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            Sample {
                name: name.to_string(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

/// The value of the series `name` with exactly these labels (0 when absent).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map_or(0.0, |s| s.value)
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let resp = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn metrics_need_the_admin_token_and_count_requests_runs_and_emails_without_patient_values() {
    let (app, _dir) = spawn_workflows_env(
        &[("welcome.yaml", WELCOME), ("fails.yaml", FAILS)],
        &[("HOOKFLOW_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    let anonymous = reqwest::Client::new();
    let url = format!("{}/metrics", app.base);
    assert_eq!(anonymous.get(&url).send().await.unwrap().status(), 401);
    let wrong = anonymous.get(&url).bearer_auth("nope").send().await;
    assert_eq!(wrong.unwrap().status(), 401);

    let (_, before) = scrape(&app).await;
    let accepted = ("status", "accepted");
    assert_eq!(
        value(
            &before,
            "hookflow_requests_total",
            &[("workflow", "welcome"), accepted]
        ),
        0.0
    );

    let welcome = app
        .post_json(
            "welcome",
            &json!({"email": "zora.patient@example.com", "name": "Zebulon"}),
        )
        .await;
    let run = app.wait_runs_of(&welcome).await.remove(0);
    assert_eq!(run["status"], "succeeded", "{run}");
    eventually("the email sent", Duration::from_secs(20), || async {
        let items = app.get_ok("/api/outbox").await["items"].clone();
        (items[0]["state"] == "sent").then_some(())
    })
    .await;
    let failing = app
        .post_json("fails", &json!({"email": "quinn.failing@example.com"}))
        .await;
    assert_eq!(app.wait_runs_of(&failing).await[0]["status"], "failed");
    let (status, _) = app
        .post_hook(
            "welcome",
            "application/json",
            "{\"email\": \"zora.patient@exa",
        )
        .await;
    assert_eq!(status, 400);

    let welcome_wf = ("workflow", "welcome");
    let fails_wf = ("workflow", "fails");
    // The run worker counts a run a moment after its commit has made it visible (and it runs
    // at a lower priority: on a busy machine that moment can be a scrape away).
    let (text, after) = eventually(
        "the failed run counted",
        Duration::from_secs(10),
        || async {
            let (text, after) = scrape(&app).await;
            let failed = value(
                &after,
                "hookflow_runs_total",
                &[fails_wf, ("status", "failed")],
            );
            (failed >= 1.0).then_some((text, after))
        },
    )
    .await;
    for (name, labels, want) in [
        ("hookflow_requests_total", vec![welcome_wf, accepted], 1.0),
        (
            "hookflow_requests_total",
            vec![welcome_wf, ("status", "rejected")],
            1.0,
        ),
        ("hookflow_requests_total", vec![fails_wf, accepted], 1.0),
        ("hookflow_items_total", vec![welcome_wf, accepted], 1.0),
        (
            "hookflow_runs_total",
            vec![welcome_wf, ("status", "succeeded")],
            1.0,
        ),
        (
            "hookflow_runs_total",
            vec![fails_wf, ("status", "failed")],
            1.0,
        ),
        (
            "hookflow_runs_total",
            vec![fails_wf, ("status", "succeeded")],
            0.0,
        ),
        ("hookflow_emails_total", vec![("state", "sent")], 1.0),
        ("hookflow_ack_latency_seconds_count", vec![], 2.0),
        ("hookflow_rejected_log_requests", vec![welcome_wf], 1.0),
        ("hookflow_run_queue_depth", vec![], 0.0),
        ("hookflow_outbox_emails", vec![("state", "queued")], 0.0),
    ] {
        assert_eq!(
            value(&after, name, &labels),
            want,
            "{name} {labels:?}\n{text}"
        );
    }
    assert!(
        value(&after, "hookflow_flush_batch_size_count", &[]) >= 1.0,
        "{text}"
    );
    let le_10s = value(
        &after,
        "hookflow_ack_latency_seconds_bucket",
        &[("le", "10")],
    );
    assert_eq!(le_10s, 2.0, "both acknowledgements within 10 s\n{text}");

    let hooks: Vec<String> = app
        .urls
        .values()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    let secrets = [
        "zora.patient@example.com",
        "quinn.failing@example.com",
        "zora",
        "Zebulon",
        "example.com",
        TOKEN,
    ];
    for sample in &after {
        for v in sample.labels.values() {
            for secret in hooks.iter().map(String::as_str).chain(secrets) {
                assert!(!v.contains(secret), "{} carries {secret}: {v}", sample.name);
            }
        }
    }
    assert!(!hooks.iter().any(|h| text.contains(h.as_str())), "{text}");
}

#[tokio::test]
async fn a_waiting_run_shows_as_a_scheduled_timer_that_is_not_due_yet() {
    let wait = "name: Wait\nsteps:\n  - wait: 2d\n";
    let dir = workflows_dir(&[("wait.yaml", wait)]);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        args: vec!["--clock".into(), "manual".into()],
        ..Options::default()
    })
    .await;
    let answer = app.post_json("wait", &json!({"email": "x@y.z"})).await;
    let run = app.wait_runs_of(&answer).await.remove(0);
    assert_eq!(run["status"], "waiting", "{run}");
    let (_, samples) = scrape(&app).await;
    assert_eq!(value(&samples, "hookflow_timers_scheduled", &[]), 1.0);
    assert_eq!(value(&samples, "hookflow_timers_due", &[]), 0.0);
    assert_eq!(
        value(
            &samples,
            "hookflow_runs_total",
            &[("workflow", "wait"), ("status", "waiting")]
        ),
        1.0
    );
}
