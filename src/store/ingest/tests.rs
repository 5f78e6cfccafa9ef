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

fn listed(store: &Store, workflow: Option<&str>, limit: usize) -> Vec<String> {
    crate::store::test_fixtures::request_ids(store, workflow, None, limit)
}

#[test]
fn a_round_is_one_value_of_the_log_and_its_requests_are_still_found_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ingest = trees(&store);
    // Handlers finish in any order; the page is written in id order. 01B repeats 01A's item.
    let mut round: Vec<_> = [("01C", "c"), ("01A", "a"), ("01B", "a")]
        .into_iter()
        .enumerate()
        .map(|(n, (id, key))| job(id, n as u64 + 1, key).0)
        .collect();
    ingest.write(&mut round).unwrap();
    let mut later = vec![job("01E", 4, "01E").0];
    ingest.write(&mut later).unwrap();
    let rejected = crate::store::test_fixtures::rejected_request;
    store
        .log_rejected(rejected("01D", "w", "2026-01-01T00:00:00Z".into()))
        .unwrap();
    store
        .log_rejected(rejected("01F", "other", "2026-01-01T00:00:00Z".into()))
        .unwrap();

    // Two rounds, two values: not a record and an index entry per request.
    assert_eq!(store.trees.requests.len(), 2);
    for id in ["01A", "01B", "01C", "01D", "01E", "01F"] {
        assert_eq!(store.request(id).unwrap().unwrap().id, id);
    }
    for absent in ["01", "01AA", "01D0", "01G"] {
        assert!(store.request(absent).unwrap().is_none(), "{absent}");
    }
    let newest_first = ["01F", "01E", "01D", "01C", "01B", "01A"];
    for limit in [1, 2, 4, 10] {
        assert_eq!(listed(&store, None, limit), newest_first, "limit {limit}");
        assert_eq!(
            listed(&store, Some("w"), limit),
            newest_first[1..],
            "limit {limit}"
        );
    }
    let accepted = store
        .requests(None, Some("accepted"), None, 10)
        .unwrap()
        .items;
    let ids: Vec<_> = accepted.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01E", "01C", "01A"]);
    let duplicate = store.requests(None, Some("duplicate"), None, 10);
    let ids: Vec<_> = duplicate.unwrap().items.into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["01B"]);
}

#[test]
fn a_round_bigger_than_a_page_is_cut_into_pages_that_keep_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ingest = trees(&store);
    let body = "x".repeat(page::MAX_BYTES / 3);
    let count = page::MAX_REQUESTS + 10;
    let mut round: Vec<_> = (0..count)
        .map(|n| {
            let (mut job, _) = job(&format!("01{n:05}"), n as u64 + 1, &n.to_string());
            if n % 100 == 7 {
                job.record.body = body.clone();
                job.encoded = stored::encode_json(&job.record);
            }
            job
        })
        .collect();
    ingest.write(&mut round).unwrap();
    let pages = store.trees.requests.len();
    assert!((2..=5).contains(&pages), "{pages} pages");
    for job in &round {
        let found = store.request(&job.record.id).unwrap().unwrap();
        assert_eq!(found.body.len(), job.record.body.len());
    }
    assert_eq!(listed(&store, None, 100).len(), count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_accepted_after_the_clock_went_back_still_sorts_after_every_stored_one() {
    let dir = tempfile::tempdir().unwrap();
    let ahead = {
        let store = Store::open(dir.path()).unwrap();
        // Written while the clock read a minute later than it does now.
        let hour_later = ulid::Ulid::new().timestamp_ms() + 60_000;
        let ahead = ulid::Ulid::from_parts(hour_later, 0).to_string();
        trees(&store).write(&mut [job(&ahead, 1, "k").0]).unwrap();
        store.flush_now().unwrap();
        ahead
    };
    let store = Store::open(dir.path()).unwrap();
    let next = store.accept(request("0"), Vec::new(), 0, None);
    let next = next.await.unwrap();
    assert!(next.id > ahead, "{} <= {ahead}", next.id);
    assert_eq!(listed(&store, None, 10), [next.id.clone(), ahead]);
}
