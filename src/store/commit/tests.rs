//! The committer and the syncer side by side, on a real store in a temp dir.

use crate::store::test_fixtures::accepted_request;
use crate::store::Store;
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

// The held guard is the slow disk: it must live across the awaits that watch the rounds.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_round_is_written_while_the_last_one_waits_for_its_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (written, mut announced) = mpsc::unbounded_channel();
    let accept = |n: u8| {
        let (store, written) = (store.clone(), written.clone());
        let record = accepted_request("placeholder", "w", "2026-01-01T00:00:00Z".into());
        tokio::spawn(async move {
            let on_written = Box::new(move |r: &crate::store::requests::RequestRecord| {
                let _ = written.send((n, r.id.clone()));
            });
            store.accept(record, Vec::new(), 0, Some(on_written)).await
        })
    };

    let disk = store.commit.hold_flushes();
    let first = accept(1);
    let (n, first_id) = tokio::time::timeout(WAIT, announced.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    // The first round now waits for its flush; the second is written meanwhile.
    let second = accept(2);
    let (n, second_id) = tokio::time::timeout(WAIT, announced.recv())
        .await
        .expect("the second round is written while the first waits for the disk")
        .unwrap();
    assert_eq!(n, 2);
    assert!(first_id < second_id, "{first_id} then {second_id}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!first.is_finished(), "answered before its flush");
    assert!(!second.is_finished(), "answered before its flush");

    drop(disk);
    let first = tokio::time::timeout(WAIT, first)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(WAIT, second)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.id.as_str(), second.id.as_str()),
        (first_id.as_str(), second_id.as_str())
    );
    drop(store);
    // Both were durable before their answers: a reopened store has them.
    let store = Store::open(dir.path()).unwrap();
    for id in [&first_id, &second_id] {
        assert_eq!(store.request(id).unwrap().map(|r| r.id), Some(id.clone()));
    }
}
