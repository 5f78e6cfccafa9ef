use super::*;
use crate::store::journal::{self, entry::Entry};
use crate::store::queue::QueueEntry;
use crate::store::requests::ItemRecord;
use serde_json::json;
use std::sync::{Arc, Mutex};

fn request(id: &str) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        workflow: "w".into(),
        received_at: "2026-01-01T00:00:00Z".into(),
        method: "POST".into(),
        remote_addr: None,
        headers: Vec::new(),
        query: String::new(),
        content_type: Some("application/json".into()),
        body: r#"{"booking":1}"#.into(),
        body_size: 13,
        body_truncated: false,
        status: ItemStatus::Accepted,
        http_status: 200,
        reason: None,
        payload: json!({"booking": 1}),
        items: Vec::new(),
        replay_of: None,
        payload_is_body: false,
    }
}

/// One item that queues `run` unless `key` was seen before 1 000 ms.
fn item(seq: u64, request_id: &str, run: &str, key: &str) -> PendingItem {
    PendingItem {
        record: ItemRecord {
            index: 0,
            status: ItemStatus::Accepted,
            run_id: Some(run.into()),
            dedupe_key: Some(key.into()),
            error: None,
        },
        queue: Some(QueueEntry {
            seq,
            run_id: run.into(),
            request_id: request_id.into(),
            index: 0,
            workflow: "w".into(),
            version: "v1".into(),
            item: json!({"booking": 1}),
            request: json!({}),
            accepted_at: 0,
        }),
        dedupe: Some((key.into(), 1_000)),
    }
}

/// A job as a handler makes it, and what its `on_written` saw.
fn job(id: &str, seq: u64, key: &str) -> (AcceptJob, Arc<Mutex<Option<ItemStatus>>>) {
    let seen = Arc::new(Mutex::new(None));
    let saw = seen.clone();
    let on_written: OnWritten = Box::new(move |r| *saw.lock().unwrap() = Some(r.status));
    let (reply, _answer) = tokio::sync::oneshot::channel();
    let run = format!("run-{id}");
    let items = vec![item(seq, id, &run, key)];
    let job = AcceptJob::new(request(id), items, 0, Some(on_written), reply);
    (job, seen)
}

fn apply_trees(store: &Store) -> crate::store::applier::ApplyTrees {
    let t = &store.trees;
    crate::store::applier::ApplyTrees {
        requests: t.requests.clone(),
        index: t.requests_index.clone(),
        queue: t.queue.clone(),
        references: t.references.clone(),
        dedupe: t.dedupe.clone(),
        counts: t.counts.clone(),
        meta: t.meta.clone(),
    }
}

/// Decides a round as the committer does, and returns its entries at made-up positions.
fn decide_round(store: &Store, round: &mut [AcceptJob]) -> Vec<(Entry, journal::Position)> {
    let mut undo = Undo::new();
    decide(
        round,
        &mut store.progress.lock(),
        &store.trees.dedupe,
        &mut undo,
    )
    .unwrap();
    round
        .iter_mut()
        .map(|j| (std::mem::take(&mut j.entry), journal::Position::default()))
        .collect()
}

#[test]
fn an_item_seen_earlier_in_the_round_journaled_or_in_the_store_is_a_duplicate_without_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (first, _) = job("01A", 1, "k");
    let (second, _) = job("01B", 2, "k");
    let mut round = vec![first, second];
    let entries = decide_round(&store, &mut round);
    // Journaled, not applied yet: the committer's own marks say it.
    let (third, _) = job("01C", 3, "k");
    let mut pending = vec![third];
    let pending_entries = decide_round(&store, &mut pending);
    let acked = crate::store::control::Acked::default();
    let trees = apply_trees(&store);
    let acked = trees.apply(&entries, &acked).unwrap();
    trees.apply(&pending_entries, &acked).unwrap();
    store.progress.lock().dedupe.clear();
    // Applied: sled's dedupe tree says it.
    let (fourth, _) = job("01D", 4, "k");
    let mut applied = vec![fourth];
    let later = decide_round(&store, &mut applied);
    trees.apply(&later, &acked).unwrap();

    let jobs: Vec<&AcceptJob> = round.iter().chain(&pending).chain(&applied).collect();
    let statuses: Vec<ItemStatus> = jobs.iter().map(|j| j.record.status).collect();
    use ItemStatus::{Accepted, Duplicate};
    assert_eq!(statuses, [Accepted, Duplicate, Duplicate, Duplicate]);
    assert_eq!(jobs[1].record.items[0].status, Duplicate);
    assert_eq!(jobs[2].record.items[0].run_id, None);
    // What the handler answers and what is stored are the same record.
    for job in &jobs {
        let stored = store.request(&job.record.id).unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(&stored).unwrap(),
            serde_json::to_value(&job.record).unwrap()
        );
    }
    let queued: Vec<String> = store
        .queued(None, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.run_id)
        .collect();
    assert_eq!(queued, ["run-01A"]);
    let counts = store.counts("w").unwrap();
    assert_eq!(
        (counts["accepted"].as_u64(), counts["duplicate"].as_u64()),
        (Some(1), Some(3))
    );
}

#[test]
fn a_round_that_is_not_written_takes_its_dedupe_marks_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (first, _) = job("01A", 1, "k");
    let mut round = vec![first];
    let mut marks = Undo::new();
    decide(
        &mut round,
        &mut store.progress.lock(),
        &store.trees.dedupe,
        &mut marks,
    )
    .unwrap();
    undo(&mut store.progress.lock(), marks);
    let (again, _) = job("01B", 2, "k");
    let mut retry = vec![again];
    decide_round(&store, &mut retry);
    assert_eq!(retry[0].record.status, ItemStatus::Accepted);
}

#[tokio::test]
async fn the_answer_the_announcement_and_the_stored_record_agree() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for (id, seq, want) in [
        ("01A", 1, ItemStatus::Accepted),
        ("01B", 2, ItemStatus::Duplicate),
    ] {
        let saw = Arc::new(Mutex::new(None));
        let seen = saw.clone();
        let on_written: OnWritten = Box::new(move |r| *seen.lock().unwrap() = Some(r.status));
        let pending = vec![item(seq, id, &format!("run-{id}"), "k")];
        let answered = store
            .accept(request(id), pending, 0, Some(on_written))
            .await
            .unwrap();
        assert_eq!(answered.status, want, "{id}");
        assert_eq!(*saw.lock().unwrap(), Some(want), "{id}");
        let stored = store.request(id).unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(&stored).unwrap(),
            serde_json::to_value(&answered).unwrap()
        );
    }
}
