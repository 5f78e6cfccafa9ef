//! The seed's typical flow with the shipped workflows and samples, a manual clock and a real
//! SMTP server: leads are warmed, a booking stops the warming, a check-out starts it again.

use crate::helpers::*;
use crate::smtp::{free_port, Sink};
use serde_json::{json, Value};
use std::time::Duration;

async fn post_sample(app: &TestApp, workflow: &str, body: Vec<u8>) {
    let (s, a) = app.post_hook(workflow, "application/json", body).await;
    assert_eq!(s, 200, "{a}");
    for id in a["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["run_id"].as_str())
    {
        let run = app.wait_run_done(id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
    }
}

async fn advance(app: &TestApp, by: &str) -> Value {
    let (s, body) = app
        .send(
            app.client
                .post(format!("{}/api/clock/advance", app.base))
                .json(&json!({"by": by})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    body
}

/// Subjects received so far by one address.
fn subjects_to(sink: &Sink, to: &str) -> Vec<String> {
    sink.messages()
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
        .map(|m| m.eml.header("Subject").unwrap_or_default().to_string())
        .collect()
}

async fn mail_count(sink: &Sink, to: &str, n: usize) -> Vec<String> {
    eventually(
        &format!("{n} emails to {to}"),
        Duration::from_secs(20),
        || async {
            let got = subjects_to(sink, to);
            (got.len() >= n).then_some(got)
        },
    )
    .await
}

async fn enrolment(app: &TestApp, email: &str) -> Value {
    let list = app.get_ok(&format!("/api/contacts?q={email}")).await;
    list["items"][0]["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sequence"] == "warming")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_booking_stops_the_warming_emails_and_a_check_out_starts_them_again() {
    let port = free_port();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(port, sink_dir.path(), &[]);
    let app = spawn_with(Options {
        args: vec![
            "--clock".into(),
            "manual".into(),
            "--mail".into(),
            format!("smtp://127.0.0.1:{port}"),
        ],
        ..Options::default()
    })
    .await;
    let jane = "jane.doe@example.com";
    let marcus = "marcus.reyes@example.org";

    // Two leads enter warming after a cancellation: each gets the day-0 email.
    let mut jane_cancel: Value =
        serde_json::from_slice(&sample("optimantra/cancellation.json")).unwrap();
    let booking: Value = serde_json::from_slice(&sample("optimantra/booking.json")).unwrap();
    for key in ["firstName", "lastName", "email", "phone"] {
        jane_cancel[key] = booking[key].clone();
    }
    post_sample(
        &app,
        "optimantra-cancellation",
        jane_cancel.to_string().into_bytes(),
    )
    .await;
    post_sample(
        &app,
        "optimantra-cancellation",
        sample("optimantra/cancellation.json"),
    )
    .await;
    let day0 = |name: &str| format!("{name}, your next step toward feeling your best");
    assert_eq!(mail_count(&sink, jane, 1).await, vec![day0("Jane")]);
    assert_eq!(mail_count(&sink, marcus, 1).await, vec![day0("Marcus")]);
    assert_eq!(enrolment(&app, jane).await["state"], "active");

    // Jane books: Booked, a transactional confirmation, and out of warming.
    post_sample(
        &app,
        "optimantra-booking",
        sample("optimantra/booking.json"),
    )
    .await;
    let jane_mail = mail_count(&sink, jane, 2).await;
    assert_eq!(jane_mail[1], "See you on 2026-12-03, Jane");
    let confirmation = sink
        .messages()
        .into_iter()
        .find(|m| m.eml.header("Subject") == Some("See you on 2026-12-03, Jane"))
        .unwrap();
    let html = confirmation.eml.part("text/html").unwrap();
    assert!(
        html.contains("Dr. Maya Chen, ND") && html.contains("10:30 AM"),
        "{html}"
    );
    let contact = &app.get_ok(&format!("/api/contacts?q={jane}")).await["items"][0];
    assert!(contact["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "Booked"));
    assert_eq!(enrolment(&app, jane).await["state"], "cancelled");

    // Three days later Marcus gets the day-3 email; Jane, who booked, gets nothing.
    let fired = advance(&app, "3d").await;
    assert!(!fired["fired"].as_array().unwrap().is_empty(), "{fired}");
    let marcus_mail = mail_count(&sink, marcus, 2).await;
    assert_eq!(marcus_mail[1], "Still thinking about it, Marcus?");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        subjects_to(&sink, jane).len(),
        2,
        "nothing more for Jane: {:?}",
        subjects_to(&sink, jane)
    );

    // Jane checks out: back into warming from the start.
    post_sample(
        &app,
        "optimantra-checkout",
        sample("optimantra/checkout.json"),
    )
    .await;
    let jane_mail = mail_count(&sink, jane, 3).await;
    assert_eq!(jane_mail[2], day0("Jane"));
    let e = enrolment(&app, jane).await;
    assert_eq!(e["state"], "active");
    // Each email went out exactly once.
    assert_eq!(sink.messages().len(), 5);
}
