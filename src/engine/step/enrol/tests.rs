//! Enrolment rules and timers at the engine level, on a manual clock (no HTTP).

use super::{enrol, unenrol};
use crate::domain::contact::{Actor, Contact, EnrolmentState};
use crate::domain::time::ClockMode;
use crate::engine::executor::Executor;
use crate::engine::template::Renderer;
use crate::engine::worker::Worker;
use crate::store::clock::Clock;
use crate::store::contacts::ChangeCtx;
use crate::store::step_tx::Abort;
use crate::store::Store;
use crate::workflow::live::LiveCatalog;
use std::sync::Arc;

const DAY: i64 = 86_400_000;

struct Engine {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    worker: Arc<Worker>,
}

impl Engine {
    fn new(sequence: &str) -> Self {
        let wf = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(wf.path().join("sequences")).unwrap();
        std::fs::write(wf.path().join("sequences/s.yaml"), sequence).unwrap();
        let data = tempfile::tempdir().unwrap();
        let store = Store::open(data.path()).unwrap();
        let catalog = Arc::new(LiveCatalog::load(wf.path()));
        assert!(catalog.current().all_errors().is_empty());
        let clock = Clock::new(ClockMode::Manual, store.clone()).unwrap();
        let executor = Arc::new(Executor::new(
            store,
            catalog,
            clock,
            Arc::new(Renderer::new()),
            "US".into(),
            "UTC".into(),
            crate::engine::step::email::MailSettings {
                from: "hookflow <noreply@localhost>".into(),
                public_url: "http://127.0.0.1:8787".into(),
            },
        ));
        let worker = Arc::new(Worker::new(executor, Arc::new(tokio::sync::Notify::new())));
        Self {
            _dirs: (wf, data),
            worker,
        }
    }

    fn ex(&self) -> &Executor {
        &self.worker.executor
    }

    fn now(&self) -> i64 {
        self.ex().clock.now_ms()
    }

    fn change(&self) -> ChangeCtx {
        ChangeCtx {
            now: self.now(),
            run_id: None,
            step: None,
            actor: Actor::Run,
        }
    }

    fn new_contact(&self) -> String {
        let c = Contact::new(self.now());
        let entry = self.change().entry(serde_json::json!({"created": true}));
        self.ex()
            .store
            .contacts
            .transaction(|tx| tx.insert(&c, &entry))
            .unwrap();
        c.id
    }

    fn contact(&self, id: &str) -> Contact {
        self.ex().store.contacts.get(id).unwrap().unwrap()
    }

    /// `add_to_sequence: s`: whether it enrolled.
    fn enrol(&self, id: &str) -> bool {
        let seq = self.ex().current_sequence("s").unwrap();
        // No store reads inside a transaction (sled would deadlock): time first.
        let (now, change) = (self.now(), self.change());
        self.ex()
            .store
            .step_transaction(|tx| {
                let c = tx.contacts.get(id).map_err(|_| Abort::fail(()))?.unwrap();
                enrol(tx, &c, &seq, now, "UTC", &change)
                    .map(|(enrolled, _)| enrolled)
                    .map_err(|_| Abort::fail(()))
            })
            .unwrap()
    }

    fn unenrol(&self, id: &str) -> bool {
        let (now, change) = (self.now(), self.change());
        self.ex()
            .store
            .step_transaction(|tx| {
                let c = tx.contacts.get(id).map_err(|_| Abort::fail(()))?.unwrap();
                unenrol(tx, &c, "s", now, &change).map_err(|_| Abort::fail(()))
            })
            .unwrap()
    }

    fn advance(&self, ms: i64) -> usize {
        self.worker.advance_clock(ms).unwrap().fired.len()
    }

    fn tags(&self, id: &str) -> Vec<String> {
        self.contact(id)
            .tags
            .iter()
            .map(|t| t.as_str().to_string())
            .collect()
    }
}

const TWO_STEPS: &str = "name: S\nsteps:\n  - add_tag: first\n  - wait: 3d\n  - add_tag: second\n";

#[test]
fn an_enrolment_runs_its_first_step_at_once_and_the_next_after_the_wait() {
    let e = Engine::new(TWO_STEPS);
    let id = e.new_contact();
    assert!(e.enrol(&id));
    assert!(!e.enrol(&id), "a no-op while active");
    assert_eq!(e.ex().store.timer_count(), 1);
    assert_eq!(e.advance(0), 1, "the first step is due now");
    assert_eq!(e.tags(&id), ["first"]);
    let enr = &e.contact(&id).sequences[0];
    assert_eq!((enr.step, enr.state), (2, EnrolmentState::Active));
    assert_eq!(enr.next_due_at, Some(e.now() + 3 * DAY));
    assert_eq!(e.advance(3 * DAY - 1000), 0, "not yet");
    assert_eq!(e.advance(1000), 1);
    assert_eq!(e.tags(&id), ["first", "second"]);
    let enr = &e.contact(&id).sequences[0];
    assert_eq!(enr.state, EnrolmentState::Completed);
    assert_eq!(enr.next_due_at, None);
    assert_eq!(e.ex().store.timer_count(), 0);
    assert_eq!(e.advance(30 * DAY), 0, "nothing fires twice");
}

#[test]
fn removing_cancels_and_adding_again_restarts_after_completed_or_cancelled() {
    let e = Engine::new(TWO_STEPS);
    let id = e.new_contact();
    assert!(!e.unenrol(&id), "not enrolled: no-op");
    e.enrol(&id);
    e.advance(0);
    assert!(e.unenrol(&id));
    assert!(!e.unenrol(&id), "already cancelled: no-op");
    assert_eq!(e.ex().store.timer_count(), 0, "its timer went with it");
    assert_eq!(e.contact(&id).sequences[0].state, EnrolmentState::Cancelled);
    assert_eq!(e.advance(5 * DAY), 0, "nothing more after removal");
    assert_eq!(e.tags(&id), ["first"]);

    assert!(e.enrol(&id), "cancelled → starts again");
    let enr = &e.contact(&id).sequences[0];
    assert_eq!((enr.step, enr.state), (0, EnrolmentState::Active));
    e.advance(0);
    e.advance(3 * DAY);
    assert_eq!(e.contact(&id).sequences[0].state, EnrolmentState::Completed);
    assert!(e.enrol(&id), "completed → starts again");
    assert_eq!(e.contact(&id).sequences.len(), 1, "one entry per sequence");
}

#[test]
fn an_enrolment_stays_on_the_version_it_started_with() {
    let e = Engine::new(TWO_STEPS);
    let seq = e.ex().current_sequence("s").unwrap();
    e.ex()
        .store
        .save_version("s", &seq.version, &seq.source)
        .unwrap();
    let id = e.new_contact();
    e.enrol(&id);
    e.advance(0);
    let dir = e.ex().catalog.dir().to_path_buf();
    std::fs::write(
        dir.join("sequences/s.yaml"),
        "name: S2\nsteps:\n  - add_tag: new-first\n  - wait: 1d\n  - add_tag: new-second\n",
    )
    .unwrap();
    e.ex().catalog.reload();
    e.advance(3 * DAY);
    assert_eq!(
        e.tags(&id),
        ["first", "second"],
        "finished on the old version"
    );
}

#[test]
fn ten_thousand_enrolments_due_at_once_each_fire_exactly_once() {
    let e = Engine::new("name: S\nsteps:\n  - send_email: {subject: Hi, body: Hello}\n");
    let n = 10_000;
    let seq = e.ex().current_sequence("s").unwrap();
    let now = e.now();
    for i in 0..n {
        let mut c = Contact::new(now);
        c.email = Some(crate::domain::contact::Email::parse(&format!("c{i}@example.com")).unwrap());
        let change = e.change();
        e.ex()
            .store
            .step_transaction(|tx| {
                tx.contacts
                    .insert(&c, &change.entry(serde_json::json!({})))
                    .map_err(|_| Abort::fail(()))?;
                enrol(tx, &c, &seq, now, "UTC", &change).map_err(|_| Abort::fail(()))
            })
            .unwrap();
    }
    assert_eq!(e.ex().store.timer_count(), n);
    let fired = e.worker.fire_due(now).unwrap();
    assert_eq!(fired.len(), n);
    let mut timers: Vec<_> = fired.iter().map(|f| f.timer.clone()).collect();
    timers.sort();
    timers.dedup();
    assert_eq!(timers.len(), n, "no timer fired twice");
    assert_eq!(e.ex().store.timer_count(), 0);
    assert!(e.worker.fire_due(now + DAY).unwrap().is_empty());
    let counts = e.ex().store.enrolment_counts().unwrap()["s"];
    assert_eq!((counts.completed, counts.active), (n, 0));
    // One outbox row per enrolment: the email step ran exactly once each.
    let emails = e.ex().store.outbox.pending_rows().unwrap();
    assert_eq!(emails.len(), n);
    let mut to: Vec<_> = emails.iter().map(|r| r.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), n);
}
