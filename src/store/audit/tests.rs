//! The audit on a real store, before and after an index is corrupted on purpose.

use super::*;
use crate::domain::contact::{Email, Phone};
use crate::store::contacts::{set_enrolment, ChangeCtx, ContactError};
use crate::store::step_tx::Abort;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn add_contact(store: &Store, email: &str, phone: &str) -> Contact {
    let mut c = Contact::new(1_000);
    c.email = Some(Email::parse(email).unwrap());
    c.phone = Some(Phone::parse(phone, "US").unwrap());
    let entry = ChangeCtx::api(1_000).entry(serde_json::json!({"created": true}));
    store
        .contacts
        .transaction(|tx| tx.insert(&c, &entry))
        .unwrap();
    c
}

/// Enrols `c` in `warming` at step 2, due at 5,000, as the engine does: the record, the
/// contact's copy and the timer in one transaction.
fn enrol(store: &Store, c: &Contact) {
    let record = EnrolmentRecord {
        contact_id: c.id.clone(),
        sequence: "warming".into(),
        version: "v1".into(),
        state: EnrolmentState::Active,
        step: 2,
        next_due_at: Some(5_000),
        enrolled_at: 1_000,
        updated_at: 1_000,
        last_error: None,
    };
    let kind = TimerKind::SequenceStep {
        contact_id: c.id.clone(),
        sequence: "warming".into(),
    };
    store
        .step_transaction(|tx| {
            let now = tx.contacts.get(&c.id)?.unwrap();
            set_enrolment(&tx.contacts, &now, record.public(), &ChangeCtx::api(1_000))?;
            tx.enrolments.put(&record)?;
            tx.timers.schedule(&Timer::new(5_000, kind.clone()))?;
            Ok::<_, Abort<ContactError>>(())
        })
        .unwrap();
}

#[test]
fn a_store_written_through_its_transactions_has_no_mismatches() {
    let (_d, store) = store();
    let a = add_contact(&store, "ann@example.com", "(415) 234-0001");
    add_contact(&store, "bob@example.com", "(415) 234-0002");
    enrol(&store, &a);
    let report = store.audit().unwrap();
    assert_eq!(
        report.mismatches,
        Mismatches::default(),
        "{:?}",
        report.examples
    );
    assert_eq!(report.checked.contacts, 2);
    assert_eq!(report.checked.email_index, 2);
    assert_eq!(report.checked.phone_index, 2);
    assert_eq!(report.checked.enrolments, 1);
    assert_eq!(report.checked.timers, 1);
}

#[test]
fn index_entries_corrupted_on_purpose_are_each_counted() {
    let (_d, store) = store();
    let a = add_contact(&store, "ann@example.com", "(415) 234-0001");
    let b = add_contact(&store, "bob@example.com", "(415) 234-0002");
    let trees = &store.contacts;
    // Ann's email entry is lost, and an entry points at a contact that does not exist.
    trees.by_email.remove("ann@example.com").unwrap();
    trees
        .by_email
        .insert("ghost@example.com", "01NOSUCHCONTACT".as_bytes())
        .unwrap();
    // Bob's phone entry names someone else instead of Bob.
    let phone = b.phone.as_ref().unwrap().as_str();
    trees
        .by_phone
        .insert(phone, serde_json::to_vec(&["01NOSUCHCONTACT"]).unwrap())
        .unwrap();
    let m = store.audit().unwrap().mismatches;
    assert_eq!(m.email_unindexed, 1, "ann's email is not indexed");
    assert_eq!(m.email_dangling, 1, "the ghost entry");
    assert_eq!(m.phone_unindexed, 1, "bob's phone is not indexed to bob");
    assert_eq!(
        m.phone_dangling, 1,
        "the phone entry names a missing contact"
    );
    assert_eq!(m.total(), 4);
    assert!(a.email.is_some());
}

#[test]
fn an_active_enrolment_whose_timer_is_gone_counts_as_a_lost_timer() {
    let (_d, store) = store();
    let a = add_contact(&store, "ann@example.com", "(415) 234-0001");
    enrol(&store, &a);
    let kind = TimerKind::SequenceStep {
        contact_id: a.id.clone(),
        sequence: "warming".into(),
    };
    store
        .step_transaction(|tx| {
            tx.timers.cancel(&kind)?;
            Ok::<_, Abort<()>>(())
        })
        .unwrap();
    let report = store.audit().unwrap();
    assert_eq!(report.mismatches.enrolment_without_timer, 1);
    assert_eq!(report.mismatches.total(), 1, "{:?}", report.examples);
}
