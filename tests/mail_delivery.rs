//! The mail subsystem against real parts: sled on disk and a real SMTP server (aiosmtpd).

mod mailer;
mod smtp;

use hookflow::mail::RetryPolicy;
use hookflow::store::outbox::{OutboxState, OutboxTrees, Transition};
use mailer::*;
use smtp::{free_port, Sink};
use std::sync::Arc;

#[tokio::test]
async fn a_delivered_email_reaches_every_recipient_with_headers_bodies_and_unsubscribe_link() {
    let fx = Fixture::new();
    let port = free_port();
    let sink = Sink::start(port, &fx.sink_dir(), &[]);
    let mut record = fx.queue("Jane Doe <jane@example.com>");
    record.cc = vec!["front-desk@clinic.test".into()];
    record.bcc = vec!["audit@clinic.test".into()];
    fx.trees.insert(&record, Some("contact-1")).unwrap();
    let mailer = fx.smtp_mailer(port);

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);

    let stored = fx.get(&record.id);
    assert_eq!(stored.state, OutboxState::Sent);
    assert_eq!(stored.attempts, 1);
    assert_eq!(stored.message_id, Some(format!("<{}@hookflow>", record.id)));
    assert_eq!(stored.sent_at, Some(T0));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let got = &messages[0];
    assert_eq!(
        got.rcpt_tos,
        [
            "jane@example.com",
            "front-desk@clinic.test",
            "audit@clinic.test"
        ]
    );
    assert_complete_email(&got.eml, &record);
    assert_eq!(got.eml.header("Bcc"), None, "Bcc must stay in the envelope");
    assert_eq!(
        mailer.deliver_due(T0 + 60_000).await.unwrap(),
        0,
        "a sent email is final"
    );
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_4xx_answer_is_retried_after_the_backoff_and_delivered_exactly_once() {
    let fx = Fixture::new();
    let port = free_port();
    let sink = Sink::start(
        port,
        &fx.sink_dir(),
        &["--fail-first", "1", "--fail-code", "451"],
    );
    let record = fx.queue("jane@example.com");
    let mailer = fx.smtp_mailer(port);

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);
    let after_first = fx.get(&record.id);
    assert_eq!(after_first.state, OutboxState::Queued);
    assert!(
        after_first
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("451 "),
        "{after_first:?}"
    );
    assert_eq!(after_first.next_attempt_at, T0 + 1_000);

    assert_eq!(
        mailer.deliver_due(T0 + 999).await.unwrap(),
        0,
        "not before the backoff"
    );
    assert_eq!(mailer.deliver_due(T0 + 1_000).await.unwrap(), 1);
    let stored = fx.get(&record.id);
    assert_eq!((stored.state, stored.attempts), (OutboxState::Sent, 2));
    assert_eq!(sink.messages().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_5xx_rejection_fails_the_email_with_the_servers_answer() {
    let fx = Fixture::new();
    let port = free_port();
    let sink = Sink::start(
        port,
        &fx.sink_dir(),
        &["--reject", "gone@", "--reject-code", "550"],
    );
    let record = fx.queue("gone@example.com");
    let mailer = fx.smtp_mailer(port);

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);

    let stored = fx.get(&record.id);
    assert_eq!(stored.state, OutboxState::Failed);
    assert_eq!(
        stored.last_error.as_deref(),
        Some("550 5.1.1 mailbox unavailable")
    );
    assert_eq!(
        mailer.deliver_due(T0 + 3_600_000).await.unwrap(),
        0,
        "never retried"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn while_the_server_is_down_the_email_waits_and_goes_out_once_it_is_back() {
    let fx = Fixture::new();
    let port = free_port();
    let record = fx.queue("jane@example.com");
    let mailer = fx.smtp_mailer(port);

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);
    let waiting = fx.get(&record.id);
    assert_eq!(waiting.state, OutboxState::Queued);
    assert!(
        waiting.last_error.is_some(),
        "the connection error is recorded"
    );

    let sink = Sink::start(port, &fx.sink_dir(), &[]);
    assert_eq!(
        mailer.deliver_due(waiting.next_attempt_at).await.unwrap(),
        1
    );
    assert_eq!(fx.get(&record.id).state, OutboxState::Sent);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_complete_email(&messages[0].eml, &record);
}

#[tokio::test]
async fn transient_failures_give_up_after_the_attempt_limit() {
    let fx = Fixture::new();
    let record = fx.queue("jane@example.com");
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let mailer = fx.smtp_mailer_with(free_port(), policy);

    mailer.deliver_due(T0).await.unwrap();
    mailer.deliver_due(T0 + 1_000).await.unwrap();

    let stored = fx.get(&record.id);
    assert_eq!(stored.state, OutboxState::Failed);
    assert!(
        stored
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 2 attempts"),
        "{stored:?}"
    );
}

#[tokio::test]
async fn an_email_left_sending_by_a_crash_is_sent_again_with_the_same_message_id_after_recover() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let id = {
        let db = sled::open(&db_path).unwrap();
        let fx = Fixture {
            dir: tempfile::tempdir().unwrap(),
            trees: OutboxTrees::open(&db).unwrap(),
        };
        let record = fx.queue("jane@example.com");
        // What deliver_one does before handing the message over; then the process "dies".
        fx.trees.mark(&record.id, &Transition::Sending).unwrap();
        fx.trees.flush().await.unwrap();
        record.id
    };
    let db = hookflow::store::open_when_free(&sled::Config::new().path(&db_path)).unwrap();
    let fx = Fixture {
        dir,
        trees: OutboxTrees::open(&db).unwrap(),
    };
    let port = free_port();
    let sink = Sink::start(port, &fx.sink_dir(), &[]);
    let mailer = fx.smtp_mailer(port);

    assert_eq!(
        mailer.deliver_due(T0).await.unwrap(),
        0,
        "sending is not retried before recover"
    );
    assert_eq!(mailer.recover().unwrap(), 1);
    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);

    let stored = fx.get(&id);
    assert_eq!((stored.state, stored.attempts), (OutboxState::Sent, 2));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].eml.header("Message-ID"),
        Some(format!("<{id}@hookflow>").as_str())
    );
}

#[tokio::test]
async fn through_smtp_the_email_is_still_marked_sending_before_it_leaves() {
    let fx = Fixture::new();
    let port = free_port();
    let sink = Sink::start(port, &fx.sink_dir(), &[]);
    let bus = Arc::new(hookflow::events::EventBus::default());
    let mailer = fx.smtp_mailer(port).with_events(bus.clone());
    let record = fx.queue("jane@example.com");

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);

    assert_eq!(email_states(&bus).await, ["sending", "sent"]);
    let stored = fx.get(&record.id);
    assert_eq!((stored.state, stored.attempts), (OutboxState::Sent, 1));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_complete_email(&messages[0].eml, &record);
}
