use super::*;
use serde_json::{json, Value};

fn booking_run() -> Value {
    json!({
        "id": "01M8SJ1H2Y1AAG01H82AHH8K0N", "workflow": "optimantra-booking",
        "version": "249f1abeb02af878", "request_id": "01M8SJ1H2Y1AAG01H82AHH8K0M", "index": 0,
        "contact_id": "01M8SJ1H302RKC8B2VQRKD5TSH", "status": "succeeded", "position": null,
        "steps": [{"path": [0], "kind": "find_contact", "status": "succeeded",
            "input": {"email": "omar.haddad.113@example.com", "phone": "+12122000113",
                "first_name": null, "last_name": null, "create": true},
            "output": {"contact_id": "01M8SJ1H302RKC8B2VQRKD5TSH", "created": true,
                "matched_by": null, "warnings": []},
            "error": null, "started_at": "2026-12-01T19:41:55.168Z",
            "finished_at": "2026-12-01T19:41:55.168Z"}],
        "error": null, "created_at": "2026-12-01T19:41:55.168Z",
        "finished_at": "2026-12-01T19:41:55.168Z",
        "item": {"firstName": "Omar", "big": 123456789012345678901234567890u128},
        "accepted_at": 1796154115166i64,
    })
}

#[test]
fn a_record_is_stored_compressed_and_reads_back_the_same() {
    let run = booking_run();
    let json = serde_json::to_vec(&run).unwrap();
    let stored = encode(&run);
    assert_eq!(stored[0], COMPRESSED_V1);
    assert!(
        stored.len() * 2 < json.len(),
        "{} bytes stored for {} of JSON",
        stored.len(),
        json.len()
    );
    let back: Value = decode("runs", &stored).unwrap();
    assert_eq!(back, run);
    // Numbers stay exact through compression too.
    assert_eq!(
        back["item"]["big"].to_string(),
        "123456789012345678901234567890"
    );
}

#[test]
fn a_record_written_as_plain_json_by_an_earlier_hookflow_still_reads() {
    let run = booking_run();
    let old = serde_json::to_vec(&run).unwrap();
    let back: Value = decode("runs", &old).unwrap();
    assert_eq!(back, run);
}

#[test]
fn a_short_record_stays_plain_json() {
    let stored = encode(&json!(["01M8SJ1H302RKC8B2VQRKD5TSH"]));
    assert_eq!(stored, br#"["01M8SJ1H302RKC8B2VQRKD5TSH"]"#);
}

#[test]
fn a_damaged_compressed_record_is_a_corrupt_record_naming_its_tree() {
    let mut stored = encode(&booking_run());
    let last = stored.len() - 1;
    stored.truncate(last - 20);
    match decode::<Value>("runs", &stored) {
        Err(StoreError::Corrupt { tree, message }) => {
            assert_eq!(tree, "runs");
            assert!(message.contains("compressed record"), "{message}");
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
    let forged = [
        &[COMPRESSED_V1][..],
        b"\x28\xb5\x2f\xfd\xff\xff\xff\xff\xff",
    ]
    .concat();
    assert!(decode::<Value>("runs", &forged).is_err());
}

/// Records on disk are compressed against this very dictionary: a change would make every one
/// of them unreadable. A better dictionary is a new format byte, not an edit.
#[test]
fn the_v1_dictionary_never_changes() {
    let (len, sum) = (
        DICT_V1.len(),
        DICT_V1.iter().map(|&b| b as u64).sum::<u64>(),
    );
    assert_eq!((len, sum), (5931, FROZEN_SUM), "dict_v1.txt was edited");
    // A record compressed by the first build with compression reads back.
    let fixture = include_bytes!("fixture_v1.bin");
    let back: Value = decode("runs", fixture).unwrap();
    assert_eq!(back, booking_run());
}

const FROZEN_SUM: u64 = 460294;

/// A data dir from before compression: its plain JSON records read through every path, and
/// what is written now is compressed.
#[test]
fn a_store_written_before_compression_reads_and_new_writes_are_compressed() {
    use crate::store::outbox::OutboxRecord;
    use crate::store::runs::RunRecord;
    use crate::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut run = booking_run();
    run["steps"] = json!([]);
    run["request"] = json!({"headers": {}, "query": {}, "received_at": "2026-12-01T19:41:55.166Z"});
    run["status"] = json!("running");
    run["position"] = json!([0]);
    let run_id = run["id"].as_str().unwrap().to_string();
    let plain = |v: &Value| serde_json::to_vec(v).unwrap();
    store.trees.runs.insert(&run_id, plain(&run)).unwrap();
    let email = json!({"id": "01M8SJ1H31MXX1T7FRYVYK7HF2", "to": "omar@example.com",
        "subject": "See you", "html": "<p>Hello Omar</p>", "state": "sent", "created_at": 1});
    store
        .outbox
        .outbox()
        .insert("01M8SJ1H31MXX1T7FRYVYK7HF2", plain(&email))
        .unwrap();

    let read: RunRecord = store.run(&run_id).unwrap().unwrap();
    assert_eq!(read.item["firstName"], "Omar");
    let keys = crate::store::run_index::RunKeys::decode(&plain(&run)).unwrap();
    assert_eq!(keys, crate::store::run_index::RunKeys::of(&read));
    let mail: OutboxRecord = store
        .outbox
        .get("01M8SJ1H31MXX1T7FRYVYK7HF2")
        .unwrap()
        .unwrap();
    assert_eq!(mail.html.as_deref(), Some("<p>Hello Omar</p>"));

    // Written again (the run's next step), the record is compressed and still the same run.
    store.save_run(&read).unwrap();
    let raw = store.trees.runs.get(&run_id).unwrap().unwrap();
    assert_eq!(raw[0], COMPRESSED_V1);
    assert!(raw.len() < plain(&run).len() / 2);
    let again = store.run(&run_id).unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(again).unwrap(),
        serde_json::to_value(read).unwrap()
    );
}
