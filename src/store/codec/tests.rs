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
    assert_eq!(back["item"]["big"].to_string(), "123456789012345678901234567890");
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
    let forged = [&[COMPRESSED_V1][..], b"\x28\xb5\x2f\xfd\xff\xff\xff\xff\xff"].concat();
    assert!(decode::<Value>("runs", &forged).is_err());
}

/// Records on disk are compressed against this very dictionary: a change would make every one
/// of them unreadable. A better dictionary is a new format byte, not an edit.
#[test]
fn the_v1_dictionary_never_changes() {
    let (len, sum) = (DICT_V1.len(), DICT_V1.iter().map(|&b| b as u64).sum::<u64>());
    assert_eq!((len, sum), (5931, FROZEN_SUM), "dict_v1.txt was edited");
    // A record compressed by the first build with compression reads back.
    let fixture = include_bytes!("fixture_v1.bin");
    let back: Value = decode("runs", fixture).unwrap();
    assert_eq!(back, booking_run());
}

const FROZEN_SUM: u64 = 460294;
