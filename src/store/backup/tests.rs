use super::*;
use crate::domain::ids::WorkflowId;

/// A store with a hook id, a counter and a few queue sequence numbers drawn; its backup bytes.
fn backed_up() -> (tempfile::TempDir, Store, Vec<u8>) {
    let (dir, store, bytes, _) = backed_up_with_seq();
    (dir, store, bytes)
}

/// [`backed_up`], with the last queue sequence number drawn before the backup.
fn backed_up_with_seq() -> (tempfile::TempDir, Store, Vec<u8>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    store
        .hook_id_for(&WorkflowId::parse("booking").unwrap())
        .unwrap();
    store.bump_count("booking", "accepted").unwrap();
    let mut last = 0;
    for _ in 0..5 {
        last = store.next_seq().unwrap();
    }
    let mut bytes = Vec::new();
    store.backup(&mut bytes).unwrap();
    (dir, store, bytes, last)
}

/// A tree's records.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Every tree's name and records, for comparing two stores.
fn contents(store: &Store) -> Vec<(Vec<u8>, Records)> {
    let mut names = store.db.tree_names();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let tree = store.db.open_tree(&n).unwrap();
            let kvs = tree
                .iter()
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            (n.to_vec(), kvs)
        })
        .collect()
}

/// The names in a dir (to see that nothing was left behind).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_restored_store_holds_every_record_and_the_same_hook_id() {
    let (dir, store, bytes) = backed_up();
    let target = dir.path().join("restored");
    let summary = restore(&bytes[..], &target).unwrap();
    let restored = Store::open(&target).unwrap();
    assert_eq!(contents(&restored), contents(&store));
    assert!(summary.records >= 3, "{summary:?}");
    let wf = WorkflowId::parse("booking").unwrap();
    assert_eq!(
        restored.hook_id_for(&wf).unwrap().as_str(),
        store.hook_id_for(&wf).unwrap().as_str()
    );
}

#[test]
fn queue_numbers_drawn_after_a_restore_are_above_those_in_the_backup() {
    let (dir, _store, bytes, last) = backed_up_with_seq();
    let target = dir.path().join("restored");
    restore(&bytes[..], &target).unwrap();
    let restored = Store::open(&target).unwrap();
    // A number the backup's queue may hold, drawn again, would overwrite that entry.
    assert!(restored.next_seq().unwrap() > last);
}

#[test]
fn a_truncated_backup_is_refused_and_leaves_nothing_behind() {
    let (dir, _store, bytes) = backed_up();
    let before = entries(dir.path());
    for cut in [bytes.len() - 1, bytes.len() - 9, bytes.len() / 2, 12] {
        let target = dir.path().join("restored");
        let err = restore(&bytes[..cut], &target).unwrap_err().to_string();
        assert!(
            err.contains("truncated") || err.contains("damaged"),
            "cut at {cut}: {err}"
        );
        assert!(err.contains("nothing was restored"), "{err}");
        assert_eq!(entries(dir.path()), before, "cut at {cut}");
    }
}

#[test]
fn a_changed_byte_is_refused() {
    let (dir, _store, mut bytes) = backed_up();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    let err = restore(&bytes[..], &dir.path().join("restored")).unwrap_err();
    assert!(matches!(err, BackupError::Bad(_)), "{err}");
    assert!(!dir.path().join("restored").exists());
}

#[test]
fn a_file_that_is_not_a_backup_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    for other in [&b"contact,email\n"[..], b"hi\n", b""] {
        let err = restore(other, &dir.path().join("restored"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a hookflow backup"), "{err}");
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(b"hello\n").unwrap();
    let err = restore(&gz.finish().unwrap()[..], &dir.path().join("restored"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a hookflow backup"), "{err}");
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn a_backup_of_a_newer_format_names_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(b"hookflow-backup 9 hookflow=7.0.0\n").unwrap();
    let err = restore(&gz.finish().unwrap()[..], &dir.path().join("restored"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("format 9") && err.contains("hookflow=7.0.0"),
        "{err}"
    );
}

#[test]
fn restore_refuses_a_dir_that_holds_something_and_leaves_it_as_it_was() {
    let (dir, _store, bytes) = backed_up();
    let target = dir.path().join("busy");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "keep me").unwrap();
    let err = restore(&bytes[..], &target).unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(entries(&target), vec!["notes.txt"]);
}

#[test]
fn restore_fills_an_existing_empty_dir() {
    let (dir, store, bytes) = backed_up();
    let target = dir.path().join("empty");
    std::fs::create_dir(&target).unwrap();
    restore(&bytes[..], &target).unwrap();
    assert_eq!(contents(&Store::open(&target).unwrap()), contents(&store));
}
