//! What the mailer tests share: a data dir with the outbox trees (sled on disk), records to
//! queue, and checks of a delivered message. Used by `mail_delivery.rs` (SMTP) and
//! `mail_outbox.rs` (outbox mode), each of which uses part of it.
#![allow(dead_code)]

use crate::smtp::Eml;
use hookflow::domain::ids::new_ulid;
use hookflow::domain::time::Millis;
use hookflow::mail::{new_token, MailConfig, Mailer, RetryPolicy, Transport};
use hookflow::store::outbox::{OutboxRecord, OutboxState, OutboxTrees};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

pub const T0: Millis = 1_700_000_000_000;
pub const URL: &str = "http://127.0.0.1:8787/unsubscribe/";

/// A data dir with the outbox trees and a place for the sink's and the outbox's files.
pub struct Fixture {
    pub dir: TempDir,
    pub trees: OutboxTrees,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let trees = OutboxTrees::open(&db).unwrap();
        Fixture { dir, trees }
    }

    pub fn sink_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("sink")
    }

    pub fn smtp_mailer(&self, port: u16) -> Mailer {
        self.smtp_mailer_with(port, RetryPolicy::default())
    }

    pub fn smtp_mailer_with(&self, port: u16, policy: RetryPolicy) -> Mailer {
        let config = MailConfig::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let transport =
            Transport::from_config(&config, Path::new("unused"), Duration::from_secs(20)).unwrap();
        Mailer::with_policy(self.trees.clone(), transport, policy)
    }

    /// Where outbox mode writes its `.eml` files.
    pub fn outbox_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("outbox")
    }

    /// Outbox mode, writing to [`Fixture::outbox_dir`].
    pub fn outbox_transport(&self) -> Transport {
        Transport::from_config(
            &MailConfig::Outbox,
            &self.outbox_dir(),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    pub fn queue(&self, to: &str) -> OutboxRecord {
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

    pub fn get(&self, id: &str) -> OutboxRecord {
        self.trees.get(id).unwrap().expect("the record exists")
    }
}

pub fn assert_complete_email(eml: &Eml, record: &OutboxRecord) {
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

/// The states of the email events published on `bus` so far, oldest first.
pub async fn email_states(bus: &Arc<hookflow::events::EventBus>) -> Vec<String> {
    let mut sub = bus.subscribe(Some(0));
    let mut states = Vec::new();
    while let Ok(Some(hookflow::events::Next::Event(e))) =
        tokio::time::timeout(Duration::from_millis(200), sub.next()).await
    {
        let data: serde_json::Value = serde_json::from_str(e.data()).unwrap();
        states.push(data["state"].as_str().unwrap().to_string());
    }
    states
}
