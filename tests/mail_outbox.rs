//! Outbox mode (`--mail outbox`) against real parts: sled on disk and the `.eml` files on disk.

mod mailer;
// Only its `.eml` reader here; the SMTP sink is `mail_delivery.rs`'s.
#[allow(dead_code)]
mod smtp;

use hookflow::mail::Mailer;
use hookflow::store::outbox::OutboxState;
use mailer::*;
use smtp::Eml;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

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
