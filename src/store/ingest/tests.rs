use super::*;
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

fn trees(store: &Store) -> IngestTrees {
    IngestTrees {
        requests: store.trees.requests.clone(),
        index: store.trees.requests_index.clone(),
        queue: store.trees.queue.clone(),
        references: store.trees.references.clone(),
        dedupe: store.trees.dedupe.clone(),
        counts: store.trees.counts.clone(),
    }
}

#[test]
fn an_item_seen_earlier_in_the_round_or_in_the_store_is_stored_as_a_duplicate_without_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ingest = trees(&store);
    let (first, first_saw) = job("01A", 1, "k");
    let (second, second_saw) = job("01B", 2, "k");
    let mut round = vec![first, second];
    ingest.write(&mut round).unwrap();
    let (third, third_saw) = job("01C", 3, "k");
    let mut later = vec![third];
    ingest.write(&mut later).unwrap();

    let jobs: Vec<&AcceptJob> = round.iter().chain(&later).collect();
    let statuses: Vec<ItemStatus> = jobs.iter().map(|j| j.record.status).collect();
    use ItemStatus::{Accepted, Duplicate};
    assert_eq!(statuses, [Accepted, Duplicate, Duplicate]);
    assert_eq!(jobs[1].record.items[0].status, Duplicate);
    assert_eq!(jobs[2].record.items[0].run_id, None);
    // What the handler answers, what was announced and what is stored are the same record.
    for (job, saw) in jobs.iter().zip([first_saw, second_saw, third_saw]) {
        assert_eq!(*saw.lock().unwrap(), Some(job.record.status));
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
        (Some(1), Some(2))
    );
}
