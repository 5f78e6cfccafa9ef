//! Email end to end: a workflow's `send_email` through the real server to a real SMTP server
//! (aiosmtpd, `tests/smtp/sink.py`), the outbox, retries, and the unsubscribe link.

use crate::helpers::*;
use crate::smtp::{free_port, Sink};
use serde_json::{json, Value};
use std::time::Duration;

const WELCOME: &str = r#"name: Welcome
mapping:
  email: $.email
  first_name: $.firstName
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - update_contact: {first_name: "{{ first_name }}"}
  - send_email:
      subject: "Welcome, {{ contact.first_name }}"
      body: "Hello {{ contact.first_name }}, your visit is on {{ trigger.date }}."
      html: "<p>Hello <b>{{ contact.first_name }}</b> &amp; welcome</p>"
  - send_email:
      subject: "Your receipt"
      body: "Receipt for {{ trigger.date }}"
      transactional: true
"#;

async fn app_with_mail(mail: &str) -> (TestApp, tempfile::TempDir) {
    let dir = workflows_dir(&[("welcome.yaml", WELCOME)]);
    let opts = Options {
        workflows: dir.path().to_path_buf(),
        args: vec![
            "--mail".into(),
            mail.into(),
            "--mail-from".into(),
            "Clinic <front@clinic.example>".into(),
        ],
        ..Options::default()
    };
    (spawn_with(opts).await, dir)
}

async fn post_welcome(app: &TestApp, email: &str) -> Value {
    let body = json!({"email": email, "firstName": "Ana", "date": "2026-12-03"}).to_string();
    let (s, a) = app.post_hook("welcome", "application/json", body).await;
    assert_eq!(s, 200, "{a}");
    let run_id = a["items"][0]["run_id"].as_str().unwrap().to_string();
    app.wait_run_done(&run_id).await
}

async fn outbox_until(app: &TestApp, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually(what, Duration::from_secs(30), || async {
        let items = app.get_ok("/api/outbox").await["items"]
            .as_array()
            .unwrap()
            .clone();
        done(&items).then_some(items)
    })
    .await
}

#[tokio::test]
async fn an_email_reaches_a_real_smtp_server_and_its_unsubscribe_link_works_only_on_post() {
    let port = free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(port, sink_dir.path(), &[]);
    let (app, _dir) = app_with_mail(&format!("smtp://127.0.0.1:{port}")).await;
    let run = post_welcome(&app, "Ana.Lima@Example.com ").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["steps"][2]["status"], "succeeded");
    let email_id = run["steps"][2]["output"]["email_id"]
        .as_str()
        .unwrap()
        .to_string();
    outbox_until(&app, "two emails sent", |items| {
        items.len() == 2 && items.iter().all(|e| e["state"] == "sent")
    })
    .await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    let welcome = messages
        .iter()
        .find(|m| m.eml.header("Subject") == Some("Welcome, Ana"))
        .expect("welcome email");
    assert_eq!(welcome.rcpt_tos, vec!["ana.lima@example.com"]);
    assert!(welcome
        .eml
        .header("From")
        .unwrap()
        .contains("front@clinic.example"));
    assert_eq!(
        welcome.eml.header("Message-ID").unwrap(),
        format!("<{email_id}@hookflow>")
    );
    let text = welcome.eml.part("text/plain").unwrap();
    assert!(
        text.contains("Hello Ana, your visit is on 2026-12-03."),
        "{text}"
    );
    let html = welcome.eml.part("text/html").unwrap();
    assert!(html.contains("Hello <b>Ana</b>"), "{html}");
    let list = welcome.eml.header("List-Unsubscribe").unwrap();
    assert_eq!(
        welcome.eml.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let link = list.trim_matches(|c| c == '<' || c == '>').to_string();
    assert!(
        link.starts_with(&format!("{}/unsubscribe/", app.base)),
        "{link}"
    );
    assert!(
        text.contains(&link) && html.contains(&link),
        "the link is in both bodies"
    );
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 32, "128 random bits");

    let contact_id = run["contact_id"].as_str().unwrap().to_string();
    // A link scanner's GET changes nothing.
    let (s, _) = app.send(app.client.get(&link)).await;
    assert_eq!(s, 200);
    assert_eq!(
        app.get_ok(&format!("/api/contacts/{contact_id}")).await["dnd"],
        false
    );
    let (s, _) = app
        .send(app.client.post(&link).body("List-Unsubscribe=One-Click"))
        .await;
    assert_eq!(s, 200);
    let contact = app.get_ok(&format!("/api/contacts/{contact_id}")).await;
    assert_eq!(contact["dnd"], true);
    assert!(contact["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["actor"] == "unsubscribe"));

    // Now DND: marketing is skipped, the transactional receipt still goes out.
    let run = post_welcome(&app, "ana.lima@example.com").await;
    assert_eq!(run["steps"][2]["status"], "skipped", "{run}");
    assert_eq!(run["steps"][3]["status"], "succeeded");
    outbox_until(&app, "the receipt sent", |items| {
        items.iter().filter(|e| e["state"] == "sent").count() == 3
    })
    .await;
    let skipped = outbox_until(&app, "one skipped", |items| {
        items.iter().any(|e| e["state"] == "skipped")
    })
    .await;
    assert!(skipped
        .iter()
        .any(|e| e["state"] == "skipped" && e["skip_reason"].as_str().unwrap().contains("DND")));
    assert_eq!(sink.messages().len(), 3);
    let (s, _) = app
        .send(
            app.client
                .post(format!("{}/unsubscribe/{}", app.base, "f".repeat(32))),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_5xx_answer_marks_the_email_failed_with_the_servers_reason() {
    let port = free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        port,
        sink_dir.path(),
        &["--reject", "blocked@", "--reject-code", "550"],
    );
    let (app, _dir) = app_with_mail(&format!("smtp://127.0.0.1:{port}")).await;
    post_welcome(&app, "blocked@example.com").await;
    let items = outbox_until(&app, "both failed", |items| {
        items.len() == 2 && items.iter().all(|e| e["state"] == "failed")
    })
    .await;
    assert!(
        items[0]["last_error"].as_str().unwrap().contains("550"),
        "{items:?}"
    );
    assert_eq!(
        items[0]["attempts"], 1,
        "a permanent failure is not retried"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_4xx_answer_is_retried_and_the_email_is_delivered_once() {
    let port = free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        port,
        sink_dir.path(),
        &["--fail-first", "1", "--fail-code", "451"],
    );
    let (app, _dir) = app_with_mail(&format!("smtp://127.0.0.1:{port}")).await;
    post_welcome(&app, "retry@example.com").await;
    let items = outbox_until(&app, "both sent", |items| {
        items.len() == 2 && items.iter().all(|e| e["state"] == "sent")
    })
    .await;
    let attempts: u64 = items.iter().map(|e| e["attempts"].as_u64().unwrap()).sum();
    assert_eq!(
        attempts, 3,
        "one of the two needed a second attempt: {items:?}"
    );
    assert_eq!(sink.messages().len(), 2, "each delivered exactly once");
}

#[tokio::test]
async fn emails_wait_for_a_server_that_is_down_and_survive_a_crash_before_delivery() {
    let port = free_port();
    let (mut app, _dir) = app_with_mail(&format!("smtp://127.0.0.1:{port}")).await;
    post_welcome(&app, "later@example.com").await;
    let items = outbox_until(&app, "a failed attempt", |items| {
        items.len() == 2
            && items
                .iter()
                .all(|e| e["state"] == "queued" && e["last_error"].is_string())
    })
    .await;
    assert!(items.iter().all(|e| e["attempts"].as_u64().unwrap() >= 1));
    app.kill9();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(port, sink_dir.path(), &[]);
    let app = app.restart().await;
    outbox_until(&app, "both sent after restart", |items| {
        items.len() == 2 && items.iter().all(|e| e["state"] == "sent")
    })
    .await;
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn the_default_outbox_writes_one_parseable_eml_per_email_and_sends_nothing() {
    let (app, _dir) = app_with_mail("outbox").await;
    post_welcome(&app, "local@example.com").await;
    let items = outbox_until(&app, "both written", |items| {
        items.len() == 2 && items.iter().all(|e| e["state"] == "sent")
    })
    .await;
    for item in &items {
        let path = item["eml_path"].as_str().unwrap();
        let raw = std::fs::read_to_string(path).unwrap();
        let eml = crate::smtp::Eml::parse(&raw);
        assert_eq!(eml.header("Subject"), item["subject"].as_str());
        assert!(eml.header("List-Unsubscribe").is_some());
        let detail = app
            .get_ok(&format!("/api/outbox/{}", item["id"].as_str().unwrap()))
            .await;
        assert!(detail["message"]
            .as_str()
            .unwrap()
            .contains("List-Unsubscribe-Post"));
    }
    let files = std::fs::read_dir(app.data.path().join("outbox"))
        .unwrap()
        .count();
    assert_eq!(files, 2);
}

#[tokio::test]
async fn an_email_shows_its_bodies_and_rendered_message_unchanged_after_a_restart_and_on_lists() {
    let (app, _dir) = app_with_mail("outbox").await;
    post_welcome(&app, "again@example.com").await;
    let items = outbox_until(&app, "both written", |items| {
        items.len() == 2 && items.iter().all(|e| e["state"] == "sent")
    })
    .await;
    let welcome = items
        .iter()
        .find(|e| e["subject"] == "Welcome, Ana")
        .unwrap();
    let id = welcome["id"].as_str().unwrap().to_string();
    assert_eq!(welcome["html"], "<p>Hello <b>Ana</b> &amp; welcome</p>");
    assert_eq!(welcome["text"], "Hello Ana, your visit is on 2026-12-03.");
    let before = app.get_ok(&format!("/api/outbox/{id}")).await;
    assert!(before["message"].as_str().unwrap().contains("Hello Ana"));

    let app = app.restart().await;
    let after = app.get_ok(&format!("/api/outbox/{id}")).await;
    assert_eq!(after, before);
    let listed = app.get_ok("/api/outbox?limit=10").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (&listed["html"], &listed["text"]),
        (&after["html"], &after["text"])
    );
}

#[tokio::test]
async fn a_contact_without_email_fails_the_send_step_with_a_clear_message() {
    let (app, _dir) = spawn_workflows(&[(
        "phone.yaml",
        "name: Phone only\nsteps:\n  - find_contact: {phone: \"{{ trigger.phone }}\", create: true}\n  - send_email: {subject: Hi, body: Hello}\n",
    )]).await;
    let (_, a) = app
        .post_hook(
            "phone",
            "application/json",
            r#"{"phone": "(415) 555-0199"}"#,
        )
        .await;
    let run = app
        .wait_run_done(a["items"][0]["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "failed");
    assert!(run["error"].as_str().unwrap().contains("no email"), "{run}");
    assert!(app.get_ok("/api/outbox").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_shutdown_while_emails_are_in_flight_waits_for_their_answers_and_sends_none_twice() {
    let port = free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    // The server stores each message, then answers 1.5 s later.
    let sink = Sink::start(port, sink_dir.path(), &["--delay", "1.5"]);
    let (mut app, _dir) = app_with_mail(&format!("smtp://127.0.0.1:{port}")).await;
    for i in 0..20 {
        let body =
            json!({"email": format!("p{i}@example.com"), "firstName": "Ana", "date": "2026-12-03"});
        let (s, a) = app
            .post_hook("welcome", "application/json", body.to_string())
            .await;
        assert_eq!(s, 200, "{a}");
    }
    // A group of sends is in flight: SIGTERM now.
    let sink_dir_path = sink_dir.path().to_path_buf();
    eventually("a message at the sink", Duration::from_secs(30), || {
        let dir = sink_dir_path.clone();
        async move {
            std::fs::read_dir(&dir)
                .ok()?
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .then_some(())
        }
    })
    .await;
    app.stop();
    let app = app.restart().await;
    let items = outbox_until(&app, "forty emails sent", |items| {
        items.len() == 40 && items.iter().all(|e| e["state"] == "sent")
    })
    .await;
    let mut ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| m.eml.header("Message-ID").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 40, "each email once at the SMTP server");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), items.len());
}
