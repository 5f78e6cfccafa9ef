use super::*;
use crate::domain::ids::WorkflowId;
use crate::store::test_fixtures::accepted_request;

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

/// A writer that says when the backup starts writing and then waits to be let go.
struct Held {
    started: Option<std::sync::mpsc::Sender<()>>,
    release: std::sync::mpsc::Receiver<()>,
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Write for Held {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(started) = self.started.take() {
            started.send(()).unwrap();
            self.release.recv().unwrap();
        }
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn booking(id: &str) -> crate::store::requests::RequestRecord {
    accepted_request(id, "booking", "2026-01-01T00:00:00Z".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_accepted_while_a_backup_reads_waits_and_is_not_half_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let early = store
        .accept(booking("01A"), Vec::new(), 0, None)
        .await
        .unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = Held {
        started: Some(started_tx),
        release: release_rx,
        bytes: bytes.clone(),
    };
    let reader = store.clone();
    let backup = std::thread::spawn(move || reader.backup(out).unwrap());
    started.recv().unwrap();

    let late = tokio::spawn({
        let store = store.clone();
        async move { store.accept(booking("01B"), Vec::new(), 0, None).await }
    });
    // Other writers still get their flushes while the backup reads.
    tokio::time::timeout(std::time::Duration::from_secs(5), store.durable())
        .await
        .expect("a flush during a backup")
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !late.is_finished(),
        "a request was stored while the backup read"
    );
    release.send(()).unwrap();
    backup.join().unwrap();
    let late = late.await.unwrap().unwrap();

    let target = dir.path().join("restored");
    restore(&bytes.lock().unwrap()[..], &target).unwrap();
    let restored = Store::open(&target).unwrap();
    assert!(restored.request(&early.id).unwrap().is_some());
    assert!(restored.request(&late.id).unwrap().is_none());
    assert!(store.request(&late.id).unwrap().is_some());
}
