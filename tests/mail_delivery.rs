//! The mail subsystem against real parts: sled on disk and a real SMTP server (aiosmtpd).

mod smtp;

use hookflow::domain::ids::new_ulid;
use hookflow::domain::time::Millis;
use hookflow::mail::{new_token, MailConfig, Mailer, RetryPolicy, Transport};
use hookflow::store::outbox::{OutboxRecord, OutboxState, OutboxTrees, Transition};
use smtp::{free_port, Eml, Sink};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::Notify;

const T0: Millis = 1_700_000_000_000;
const URL: &str = "http://127.0.0.1:8787/unsubscribe/";

/// A data dir with the outbox trees and a place for the sink's and the outbox's files.
struct Fixture {
    dir: TempDir,
    trees: OutboxTrees,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let trees = OutboxTrees::open(&db).unwrap();
        Fixture { dir, trees }
    }

    fn sink_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("sink")
    }

    fn smtp_mailer(&self, port: u16) -> Mailer {
        self.smtp_mailer_with(port, RetryPolicy::default())
    }

    fn smtp_mailer_with(&self, port: u16, policy: RetryPolicy) -> Mailer {
        let config = MailConfig::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let transport =
            Transport::from_config(&config, Path::new("unused"), Duration::from_secs(20)).unwrap();
        Mailer::with_policy(self.trees.clone(), transport, policy)
    }

    /// Where outbox mode writes its `.eml` files.
    fn outbox_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("outbox")
    }

    /// Outbox mode, writing to [`Fixture::outbox_dir`].
    fn outbox_transport(&self) -> Transport {
        Transport::from_config(
            &MailConfig::Outbox,
            &self.outbox_dir(),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    fn queue(&self, to: &str) -> OutboxRecord {
        let token = new_token();
        let record = OutboxRecord {
            id: new_ulid(),
            to: to.to_string(),
            cc: vec![],
            bcc: vec![],
            from: Some("Clinic <hello@clinic.test>".into()),
            subject: "See you soon, Jane".into(),
            text: Some("Your visit is booked.".into()),
            html: Some("<html><body><p>Your visit is <b>booked</b>.</p></body></html>".into()),
            state: OutboxState::Queued,
            attempts: 0,
            last_error: None,
            message_id: None,
            run_id: Some(new_ulid()),
            contact_id: Some("contact-1".into()),
            unsubscribe_url: Some(format!("{URL}{token}")),
            unsubscribe_token: Some(token),
            created_at: T0,
            next_attempt_at: T0,
            sent_at: None,
            eml_path: None,
            skip_reason: None,
        };
        self.trees.insert(&record, Some("contact-1")).unwrap();
        record
    }

    fn get(&self, id: &str) -> OutboxRecord {
        self.trees.get(id).unwrap().expect("the record exists")
    }
}

fn assert_complete_email(eml: &Eml, record: &OutboxRecord) {
    let url = record.unsubscribe_url.as_deref().unwrap();
    // lettre quotes display names: `"Jane Doe" <jane@example.com>`.
    let to = eml.header("To").expect("a To header").replace('"', "");
    assert_eq!(to, record.to);
    assert_eq!(eml.header("Subject"), Some(record.subject.as_str()));
    assert_eq!(
        eml.header("Message-ID"),
        Some(format!("<{}@hookflow>", record.id).as_str())
    );
    assert_eq!(
        eml.header("List-Unsubscribe"),
        Some(format!("<{url}>").as_str())
    );
    assert_eq!(
        eml.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let text = eml.part("text/plain").expect("a text/plain part");
    assert!(text.contains("Your visit is booked."), "{text}");
    assert!(text.contains(&format!("Unsubscribe: {url}")), "{text}");
    let html = eml.part("text/html").expect("a text/html part");
    assert!(html.contains("<b>booked</b>"), "{html}");
    assert!(
        html.contains(&format!("<a href=\"{url}\">Unsubscribe</a>")),
        "{html}"
    );
}

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
    let db = sled::open(&db_path).unwrap();
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
async fn outbox_mode_writes_one_parseable_eml_per_email_and_nothing_else() {
    let fx = Fixture::new();
    let outbox = fx.outbox_dir();
    let transport = fx.outbox_transport();
    let mailer = Mailer::new(fx.trees.clone(), transport);
    let records = [fx.queue("jane@example.com"), fx.queue("john@example.com")];

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 2);

    for record in &records {
        let stored = fx.get(&record.id);
        assert_eq!(stored.state, OutboxState::Sent);
        let path = outbox.join(format!("{}.eml", record.id));
        assert_eq!(stored.eml_path.as_deref(), Some(path.to_str().unwrap()));
        let eml = Eml::parse(&std::fs::read_to_string(&path).unwrap());
        assert_complete_email(&eml, record);
    }
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 2, "no temporary files are left: {files:?}");
}

#[tokio::test]
async fn skipped_emails_are_left_alone_and_bad_addresses_fail_without_a_send() {
    let fx = Fixture::new();
    let outbox = fx.outbox_dir();
    let transport = fx.outbox_transport();
    let mailer = Mailer::new(fx.trees.clone(), transport);
    let mut skipped = fx.queue("jane@example.com");
    skipped.state = OutboxState::Skipped;
    skipped.skip_reason = Some("contact is DND".into());
    fx.trees.insert(&skipped, Some("contact-1")).unwrap();
    let bad = fx.queue("jane at example dot com");

    assert_eq!(
        mailer.deliver_due(T0).await.unwrap(),
        1,
        "only the bad address is attempted"
    );

    assert_eq!(fx.get(&skipped.id).state, OutboxState::Skipped);
    let failed = fx.get(&bad.id);
    assert_eq!(failed.state, OutboxState::Failed);
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("\"jane at example dot com\""),
        "{failed:?}"
    );
    assert!(!outbox.exists() || std::fs::read_dir(&outbox).unwrap().next().is_none());
}

#[tokio::test]
async fn the_background_loop_sends_what_is_queued_as_soon_as_it_is_woken() {
    let fx = Fixture::new();
    let outbox = fx.outbox_dir();
    let transport = fx.outbox_transport();
    // A tick far longer than the deadline: only the wake can make the loop send in time.
    let mailer = Mailer::new(fx.trees.clone(), transport).with_tick(Duration::from_secs(3_600));
    let wake = Arc::new(Notify::new());
    let worker = tokio::spawn(Arc::new(mailer).run_forever(wake.clone(), || T0));
    // Let the loop make its first (empty) pass and go to sleep.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let record = fx.queue("jane@example.com");
    wake.notify_one();

    let deadline = Instant::now() + Duration::from_secs(10);
    while fx.get(&record.id).state != OutboxState::Sent {
        assert!(
            Instant::now() < deadline,
            "the loop did not send the queued email"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.abort();
    assert!(outbox.join(format!("{}.eml", record.id)).exists());
}

/// The states of the email events published on `bus` so far, oldest first.
async fn email_states(bus: &Arc<hookflow::events::EventBus>) -> Vec<String> {
    let mut sub = bus.subscribe(Some(0));
    let mut states = Vec::new();
    while let Ok(Some(hookflow::events::Next::Event(e))) =
        tokio::time::timeout(Duration::from_millis(200), sub.next()).await
    {
        let data: serde_json::Value = serde_json::from_str(&e.data).unwrap();
        states.push(data["state"].as_str().unwrap().to_string());
    }
    states
}

#[tokio::test]
async fn outbox_mode_writes_the_eml_without_first_marking_the_email_sending() {
    let fx = Fixture::new();
    let outbox = fx.outbox_dir();
    let transport = fx.outbox_transport();
    let bus = Arc::new(hookflow::events::EventBus::default());
    let mailer = Mailer::new(fx.trees.clone(), transport).with_events(bus.clone());
    let record = fx.queue("jane@example.com");

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);

    // Writing the same `.eml` again is harmless, so no `sending` mark (and no flush of it)
    // comes before the write: queued goes straight to sent, counting one attempt.
    assert_eq!(email_states(&bus).await, ["sent"]);
    let stored = fx.get(&record.id);
    assert_eq!((stored.state, stored.attempts), (OutboxState::Sent, 1));
    assert_eq!(
        stored.message_id.as_deref(),
        Some(format!("<{}@hookflow>", record.id).as_str())
    );
    assert!(outbox.join(format!("{}.eml", record.id)).exists());
}

#[tokio::test]
async fn outbox_mode_retries_a_failed_write_counting_each_attempt_and_then_writes_it_once() {
    let fx = Fixture::new();
    // A file where the outbox dir should be: the write fails until it is moved away.
    let outbox = fx.outbox_dir();
    std::fs::write(&outbox, "in the way").unwrap();
    let transport = fx.outbox_transport();
    let mailer = Mailer::new(fx.trees.clone(), transport);
    let record = fx.queue("jane@example.com");

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);
    let failed = fx.get(&record.id);
    assert_eq!((failed.state, failed.attempts), (OutboxState::Queued, 1));
    assert_eq!(
        failed.next_attempt_at,
        T0 + 1_000,
        "the first backoff is 1 s"
    );
    assert!(
        failed.last_error.as_deref().unwrap().contains("outbox"),
        "{failed:?}"
    );
    assert_eq!(
        mailer.deliver_due(T0 + 999).await.unwrap(),
        0,
        "not due yet"
    );

    std::fs::remove_file(&outbox).unwrap();
    assert_eq!(mailer.deliver_due(T0 + 1_000).await.unwrap(), 1);
    let sent = fx.get(&record.id);
    assert_eq!((sent.state, sent.attempts), (OutboxState::Sent, 2));
    assert_eq!(sent.last_error, None);
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);
}

#[tokio::test]
async fn an_email_whose_eml_was_written_but_not_recorded_is_written_again_not_twice() {
    let fx = Fixture::new();
    let outbox = fx.outbox_dir();
    let record = fx.queue("jane@example.com");
    // A crash after the write and before its outcome was on disk: the file is there and the
    // email is still queued.
    std::fs::create_dir_all(&outbox).unwrap();
    let path = outbox.join(format!("{}.eml", record.id));
    std::fs::write(&path, "half a story").unwrap();
    let transport = fx.outbox_transport();
    let mailer = Mailer::new(fx.trees.clone(), transport);

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 1);

    assert_eq!(fx.get(&record.id).state, OutboxState::Sent);
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
    assert_eq!(files.len(), 1, "one file per email: {files:?}");
    let eml = Eml::parse(&std::fs::read_to_string(&path).unwrap());
    assert_complete_email(&eml, &record);
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

#[tokio::test]
async fn outbox_mode_writes_a_batch_at_once_and_each_email_gets_its_own_outcome() {
    let fx = Fixture::new();
    let outbox = fx.outbox_dir();
    let mailer = Mailer::new(fx.trees.clone(), fx.outbox_transport());
    let first = fx.queue("jane@example.com");
    let bad = fx.queue("jane at example dot com");
    let last = fx.queue("john@example.com");

    assert_eq!(mailer.deliver_due(T0).await.unwrap(), 3);

    for good in [&first, &last] {
        let stored = fx.get(&good.id);
        let path = outbox.join(format!("{}.eml", good.id));
        assert_eq!(stored.state, OutboxState::Sent);
        assert_eq!(stored.eml_path.as_deref(), Some(path.to_str().unwrap()));
        assert_complete_email(&Eml::parse(&std::fs::read_to_string(&path).unwrap()), good);
    }
    let failed = fx.get(&bad.id);
    assert_eq!((failed.state, failed.attempts), (OutboxState::Failed, 1));
    assert!(!outbox.join(format!("{}.eml", bad.id)).exists());
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        2,
        "no temporary files left"
    );
}
