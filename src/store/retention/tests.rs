//! Tests of the retention sweep on a real store.

use crate::domain::time::rfc3339;
use crate::store::outbox::{OutboxRecord, OutboxState};
use crate::store::references::ReferenceRecord;
use crate::store::requests::RequestRecord;
use crate::store::runs::{RunFilter, RunRecord, RunStatus};
use crate::store::test_fixtures::{outbox_record, rejected_request, started_run};
use crate::store::Store;

const DAY: i64 = 86_400_000;
/// "Now" in these tests: day 100 after the epoch.
const NOW: i64 = 100 * DAY;
const CUTOFF: i64 = NOW - 30 * DAY;

fn request(id: &str, day: i64) -> RequestRecord {
    rejected_request(id, "bookings", rfc3339(day * DAY))
}

fn run(id: &str, created: i64, status: RunStatus, finished: Option<i64>) -> RunRecord {
    let mut run = started_run(id, "bookings", rfc3339(created * DAY));
    run.status = status;
    run.contact_id = Some("C1".into());
    run.finished_at = finished.map(|d| rfc3339(d * DAY));
    run
}

fn email(id: &str, run_id: &str, day: i64, state: OutboxState) -> OutboxRecord {
    OutboxRecord {
        run_id: Some(run_id.into()),
        contact_id: Some("C1".into()),
        created_at: day * DAY,
        next_attempt_at: day * DAY,
        ..outbox_record(id, state)
    }
}

fn run_ids(store: &Store, filter: RunFilter) -> Vec<String> {
    let page = store.runs(&filter, None, 100).unwrap();
    page.items.into_iter().map(|r| r.id).collect()
}

#[test]
fn a_sweep_deletes_what_is_older_than_the_cutoff_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Requests: two old, one young (ids in time order, as ULIDs are).
    for (id, day) in [("01A", 10), ("01B", 60), ("01C", 90)] {
        store.log_rejected(request(id, day)).unwrap();
    }
    let reference = ReferenceRecord {
        request_id: "01A".into(),
        captured_at: rfc3339(10 * DAY),
        payload: serde_json::json!({"name": "Jane"}),
    };
    store.set_reference("bookings", &reference).unwrap();
    // Runs: finished long ago, waiting since long ago, finished recently, finished young.
    store
        .save_run(&run("02A", 10, RunStatus::Succeeded, Some(10)))
        .unwrap();
    store
        .save_run(&run("02B", 11, RunStatus::Waiting, None))
        .unwrap();
    store
        .save_run(&run("02C", 12, RunStatus::Failed, Some(80)))
        .unwrap();
    store
        .save_run(&run("02D", 90, RunStatus::Succeeded, Some(90)))
        .unwrap();
    // Emails: sent long ago (with its .eml), queued long ago, sent long ago by a waiting run.
    let outbox_dir = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox_dir).unwrap();
    std::fs::write(outbox_dir.join("03A.eml"), "mail").unwrap();
    std::fs::write(outbox_dir.join("03C.eml"), "mail").unwrap();
    for e in [
        email("03A", "02A", 10, OutboxState::Sent),
        email("03B", "02A", 10, OutboxState::Queued),
        email("03C", "02B", 11, OutboxState::Sent),
    ] {
        store.outbox.insert(&e, Some("C1")).unwrap();
    }
    // Dedupe marks: one expired, one still blocking repeats.
    let dedupe = &store.trees.dedupe;
    dedupe
        .insert("bookings\0old", &(NOW - 1).to_be_bytes())
        .unwrap();
    dedupe
        .insert("bookings\0new", &(NOW + DAY).to_be_bytes())
        .unwrap();

    let swept = store.sweep(CUTOFF, NOW).unwrap();
    assert_eq!(
        (swept.requests, swept.runs, swept.emails, swept.dedupe_marks),
        (2, 1, 1, 1)
    );

    let left: Vec<_> = store
        .requests(None, None, None, 10)
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, ["01C"]);
    // Their index entries went with them: the filtered list reads only what is left.
    assert_eq!(
        store
            .trees
            .requests_index
            .scan_prefix(b"cbookings\0")
            .count(),
        1
    );
    let rejected = store.db.open_tree("rejected").unwrap();
    assert_eq!(rejected.scan_prefix(b"bookings\0").count(), 1);
    let count = rejected.get("bookings\x01").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(count.as_ref().try_into().unwrap()), 1);
    assert_eq!(
        store.reference("bookings").unwrap().unwrap().payload["name"],
        "Jane"
    );

    assert!(store.run("02A").unwrap().is_none());
    let by_contact = RunFilter {
        contact: Some("C1".into()),
        ..RunFilter::default()
    };
    assert_eq!(run_ids(&store, by_contact), ["02D", "02C", "02B"]);
    assert_eq!(store.active_runs().unwrap(), ["02B"]);

    assert!(store.outbox.get("03A").unwrap().is_none());
    assert!(store.outbox.bodies().get("03A").unwrap().is_none());
    assert!(store.outbox.bodies().get("03C").unwrap().is_some());
    assert!(!outbox_dir.join("03A.eml").exists());
    assert_eq!(
        store.outbox.get("03B").unwrap().unwrap().state,
        OutboxState::Queued
    );
    assert!(store.outbox.get("03C").unwrap().is_some());
    assert!(outbox_dir.join("03C.eml").exists());
    assert_eq!(
        store
            .outbox
            .contact_for_token("tok-03A")
            .unwrap()
            .as_deref(),
        Some("C1")
    );

    assert!(dedupe.get("bookings\0old").unwrap().is_none());
    assert!(dedupe.get("bookings\0new").unwrap().is_some());

    // A second sweep finds nothing more.
    assert!(store.sweep(CUTOFF, NOW).unwrap().is_empty());
}

#[test]
fn a_sweep_works_through_more_than_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old = super::BATCH + 5;
    for n in 0..old {
        let id = format!("04{n:08}");
        store
            .save_run(&run(&id, 1, RunStatus::Succeeded, Some(1)))
            .unwrap();
    }
    store
        .save_run(&run("05YOUNG", 90, RunStatus::Succeeded, Some(90)))
        .unwrap();
    let swept = store.sweep(CUTOFF, NOW).unwrap();
    assert_eq!(swept.runs, old as u64);
    let all = store.runs(&RunFilter::default(), None, 10).unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(all.items[0].id, "05YOUNG");
}
