use super::entry::Entry;
use super::*;
use crate::store::Store;

fn entry(id: &str) -> Entry {
    let record = crate::store::requests::stored::encode(&crate::store::requests::RequestRecord {
        id: id.into(),
        workflow: "w".into(),
        received_at: "2026-01-01T00:00:00Z".into(),
        method: "POST".into(),
        remote_addr: None,
        headers: Vec::new(),
        query: String::new(),
        content_type: Some("application/json".into()),
        body: r#"{"n":1}"#.into(),
        body_size: 7,
        body_truncated: false,
        status: crate::store::requests::ItemStatus::Filtered,
        http_status: 200,
        reason: None,
        payload: serde_json::json!({"n": 1}),
        items: Vec::new(),
        replay_of: None,
        payload_is_body: false,
    });
    Entry {
        id: id.into(),
        workflow: "w".into(),
        status: "filtered".into(),
        record,
        queue: Vec::new(),
        dedupe: vec![(format!("w\0{id}"), 9)],
    }
}

/// Writes one round per id into segment `segment` of `data`'s journal, as the committer does.
fn journal_rounds(data: &Path, segment: u64, ids: &[&str]) {
    let mut journal = Journal::start(&dir_of(data), segment).unwrap();
    for id in ids {
        let mut frames = Vec::new();
        frame(&mut frames, &entry(id).encode());
        journal.append(&frames).unwrap();
    }
}

fn segment_file(data: &Path, segment: u64) -> PathBuf {
    segment_path(&dir_of(data), segment)
}

#[test]
fn an_entry_reads_back_as_written_and_a_cut_one_is_an_error() {
    let mut e = entry("01A");
    e.queue.push(([1; 8], b"queued".to_vec()));
    let bytes = e.encode();
    assert_eq!(Entry::decode(&bytes).unwrap(), e);
    let err = Entry::decode(&bytes[..bytes.len() - 3]).unwrap_err();
    assert!(err.contains("ends inside its dedupe until"), "{err}");
}

#[test]
fn journaled_requests_that_sled_does_not_hold_are_applied_at_start_and_the_journal_emptied() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    journal_rounds(dir.path(), 5, &["01A", "01B"]);
    journal_rounds(dir.path(), 6, &["01C"]);
    let store = Store::open(dir.path()).unwrap();
    for id in ["01A", "01B", "01C"] {
        assert!(store.request(id).unwrap().is_some(), "{id}");
    }
    assert_eq!(store.counts("w").unwrap()["filtered"], 3);
    // Applied once: opening again applies nothing twice.
    drop(store);
    assert_eq!(segments(&dir_of(dir.path())).unwrap(), [7]);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.counts("w").unwrap()["filtered"], 3);
}

#[test]
fn a_round_cut_short_at_the_end_is_cut_off_and_the_rounds_before_it_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    journal_rounds(dir.path(), 3, &["01A", "01B"]);
    let path = segment_file(dir.path(), 3);
    let mut torn = Vec::new();
    frame(&mut torn, &entry("01C").encode());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&torn[..torn.len() / 2]).unwrap();
    drop(file);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.request("01B").unwrap().is_some());
    assert!(store.request("01C").unwrap().is_none());
    assert_eq!(store.counts("w").unwrap()["filtered"], 2);
}

#[test]
fn a_damaged_older_segment_refuses_to_start_and_names_where_unless_the_loss_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    journal_rounds(dir.path(), 3, &["01A", "01B"]);
    journal_rounds(dir.path(), 4, &["01C"]);
    let path = segment_file(dir.path(), 3);
    let mut bytes = std::fs::read(&path).unwrap();
    let second = bytes.len() - 20;
    bytes[second] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(dir.path()).err().expect("refused").to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("--accept-data-loss"), "{err}");
    let store = Store::open_with(dir.path(), crate::store::DEFAULT_CACHE, true).unwrap();
    assert!(store.request("01A").unwrap().is_some());
    assert!(store.request("01B").unwrap().is_none());
    assert!(store.request("01C").unwrap().is_some());
}

#[test]
fn a_file_that_is_not_a_segment_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    std::fs::write(segment_file(dir.path(), 9), b"hello").unwrap();
    let err = Store::open(dir.path()).err().expect("refused").to_string();
    assert!(err.contains("not a hookflow journal segment"), "{err}");
}
