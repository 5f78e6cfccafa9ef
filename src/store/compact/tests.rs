use super::*;
use crate::store::{Store, DEFAULT_CACHE};
use std::collections::BTreeMap;

type Contents = BTreeMap<Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>>;

/// Every record of every tree, without the compaction's own baseline mark.
fn contents(dir: &Path) -> Contents {
    let store = Store::open(dir).unwrap();
    let mut all = Contents::new();
    for name in store.db.tree_names() {
        let records = store
            .db
            .open_tree(&name)
            .unwrap()
            .iter()
            .map(|kv| kv.unwrap())
            .filter(|(k, _)| !(name == "meta" && k == BASELINE))
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        all.insert(name.to_vec(), records);
    }
    all
}

/// A store that wrote 6,000 records of 1 KiB three times over and deleted nine in ten:
/// most of its file is space sled does not reuse.
fn churned() -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let tree = store.db.open_tree("scratch").unwrap();
    for round in 0..3u8 {
        for i in 0..6_000u32 {
            tree.insert(i.to_be_bytes(), vec![round; 1024]).unwrap();
        }
    }
    for i in (0..6_000u32).filter(|i| i % 10 != 0) {
        tree.remove(i.to_be_bytes()).unwrap();
    }
    let id = store.db.generate_id().unwrap();
    store.flush_now().unwrap();
    drop((tree, store));
    (dir, id)
}

/// Writes new records of 4 KiB, each flushed, until sled's file is above `size` bytes.
fn grow_past(store: &Store, dir: &Path, size: u64) {
    let tree = store.db.open_tree("scratch").unwrap();
    let mut i = 0u32;
    while file_bytes(dir) <= size {
        tree.insert(i.to_be_bytes(), vec![7; 4096]).unwrap();
        store.flush_now().unwrap();
        i += 1;
    }
}

fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sled"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_compacted_store_holds_every_record_in_a_smaller_file_and_draws_higher_ids() {
    let (dir, id) = churned();
    let before = contents(dir.path());
    let size = file_bytes(dir.path());
    let done = compact(dir.path(), DEFAULT_CACHE).unwrap();
    assert_eq!(done.before, size);
    assert!(
        done.after * 3 < done.before,
        "{} -> {} bytes",
        done.before,
        done.after
    );
    assert_eq!(done.after, file_bytes(dir.path()));
    assert_eq!(contents(dir.path()), before);
    assert_eq!(folders(dir.path()), ["sled"]);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.db.generate_id().unwrap() > id);
}

/// Each tree's records and key + value bytes, as they are on disk now.
fn sizes(dir: &Path) -> BTreeMap<String, (u64, u64)> {
    let store = Store::open(dir).unwrap();
    let mut all = BTreeMap::new();
    for name in store.db.tree_names() {
        let tree = store.db.open_tree(&name).unwrap();
        let (mut n, mut bytes) = (0, 0);
        for (k, v) in tree.iter().map(|kv| kv.unwrap()) {
            n += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        all.insert(String::from_utf8_lossy(&name).into_owned(), (n, bytes));
    }
    all
}

#[test]
fn a_compaction_says_what_each_tree_holds_largest_first() {
    let (dir, _) = churned();
    let before = sizes(dir.path());
    let done = compact(dir.path(), DEFAULT_CACHE).unwrap();
    // churned() left 600 records of a 4-byte key and a 1 KiB value in "scratch".
    assert_eq!(
        done.trees[0],
        TreeSize {
            name: "scratch".into(),
            records: 600,
            bytes: 600 * (4 + 1024)
        }
    );
    assert!(done.trees.windows(2).all(|w| w[0].bytes >= w[1].bytes));
    let told: BTreeMap<String, (u64, u64)> = done
        .trees
        .iter()
        .map(|t| (t.name.clone(), (t.records, t.bytes)))
        .collect();
    assert_eq!(told, before);
    assert_eq!(done.records, before.values().map(|s| s.0).sum::<u64>());
}

#[test]
fn a_data_dir_in_use_is_not_compacted_and_stays_as_it_was() {
    let (dir, _) = churned();
    let store = Store::open(dir.path()).unwrap();
    let size = file_bytes(dir.path());
    assert!(matches!(
        compact(dir.path(), DEFAULT_CACHE),
        Err(StoreError::Locked)
    ));
    assert_eq!(file_bytes(dir.path()), size);
    assert_eq!(folders(dir.path()), ["sled"]);
    drop(store);
}

#[test]
fn a_second_open_of_a_data_dir_is_refused_while_the_first_lives() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(StoreError::Locked)));
    drop(first);
    Store::open(dir.path()).unwrap();
}

/// The data dir as a kill at `stage` of a compaction leaves it: 0 copy half built, 1 copy
/// complete, 2 old store moved aside, 3 new store in place with the old one not yet removed.
fn interrupted_at(stage: u8) -> (tempfile::TempDir, Contents) {
    let (dir, _) = churned();
    let before = contents(dir.path());
    let f = Folders::of(dir.path());
    if stage == 0 {
        std::fs::create_dir_all(&f.building).unwrap();
        std::fs::write(f.building.join("db"), b"half a copy").unwrap();
        return (dir, before);
    }
    let old = crate::store::open_when_free(&sled_config(&f.live, DEFAULT_CACHE)).unwrap();
    copy(&old, &f.building, DEFAULT_CACHE).unwrap();
    drop(old);
    std::fs::rename(&f.building, &f.complete).unwrap();
    if stage >= 2 {
        std::fs::rename(&f.live, &f.old).unwrap();
    }
    if stage >= 3 {
        std::fs::rename(&f.complete, &f.live).unwrap();
    }
    (dir, before)
}

#[test]
fn a_compaction_killed_at_any_stage_leaves_one_whole_store_at_the_next_open() {
    for stage in 0..=3 {
        let (dir, before) = interrupted_at(stage);
        assert_eq!(contents(dir.path()), before, "killed at stage {stage}");
        assert_eq!(folders(dir.path()), ["sled"], "killed at stage {stage}");
    }
}

#[test]
fn compaction_is_due_past_the_floor_and_then_only_once_the_file_has_doubled() {
    let (dir, _) = churned();
    let store = Store::open(dir.path()).unwrap();
    let size = file_bytes(dir.path());
    assert!(store.compaction_due(size - 1).unwrap());
    assert!(!store.compaction_due(size).unwrap());
    assert!(!store.compaction_due(0).unwrap(), "0 is never");
    drop(store);
    let done = compact(dir.path(), DEFAULT_CACHE).unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Above the floor, but not yet twice the size it had after the compaction.
    assert!(!store.compaction_due(done.after / 2).unwrap());
    grow_past(&store, dir.path(), 2 * done.after);
    assert!(store.compaction_due(done.after / 2).unwrap());
}

#[test]
fn a_store_from_before_compaction_is_not_due_at_its_first_open_only_once_it_doubles() {
    let (dir, _) = churned();
    // As a data dir made before compaction existed: no baseline.
    let store = Store::open(dir.path()).unwrap();
    store.trees.meta.remove(BASELINE).unwrap();
    store.flush_now().unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let size = file_bytes(dir.path());
    assert!(!store.compaction_due(1).unwrap(), "due at its first open");
    grow_past(&store, dir.path(), 2 * size);
    assert!(store.compaction_due(1).unwrap());
}

/// A CSV of `n` contacts with names, emails, phones and tags.
fn contacts_csv(n: usize) -> String {
    let mut csv = String::from("first_name,last_name,email,phone,tags\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Ann{i},Lee{i},ann{i}@example.com,+1415555{:04},\"vip,clinic-{}\"\n",
            i % 10_000,
            i % 7
        ));
    }
    csv
}

#[test]
fn an_import_that_doubles_the_file_does_not_make_it_due_but_what_is_written_after_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.flush_now().unwrap();
    let start = file_bytes(dir.path());
    let ctx = crate::store::contacts::ChangeCtx::import(0);
    let csv = contacts_csv(3_000);
    let report = growth_is_live(&store, || {
        store.contacts.import_csv(csv.as_bytes(), "US", &ctx)
    })
    .unwrap()
    .unwrap();
    assert_eq!(report.created, 3_000, "{report:?}");
    let imported = file_bytes(dir.path());
    assert!(
        imported > 2 * start,
        "the import grew the file {start} -> {imported}"
    );
    assert!(
        !store.compaction_due(1).unwrap(),
        "an import's records are live: copying them reclaims nothing"
    );
    // What is written after it still counts.
    grow_past(&store, dir.path(), 2 * imported);
    assert!(store.compaction_due(1).unwrap());
}
