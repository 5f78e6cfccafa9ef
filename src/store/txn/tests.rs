use super::*;
use std::cell::Cell;
use std::sync::mpsc;
use std::time::Duration;

fn open() -> (tempfile::TempDir, sled::Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    (dir, db)
}

fn number(v: Option<IVec>) -> u64 {
    v.map_or(0, |v| u64::from_be_bytes(v.as_ref().try_into().unwrap()))
}

/// Adds one to `key` of `tree` in a transaction; `between` runs after the read, before the
/// commit (another writer getting in between), with the number of the body's run.
fn increment(tree: &sled::Tree, between: impl Fn(usize)) -> (TransactionResult<u64, ()>, usize) {
    let runs = Cell::new(0);
    let result = transaction(&[tree], |v| {
        runs.set(runs.get() + 1);
        let n = number(v[0].get("n")?) + 1;
        between(runs.get());
        v[0].insert("n", &n.to_be_bytes())?;
        Ok(n)
    });
    (result, runs.get())
}

#[test]
fn a_body_reads_its_own_writes_and_they_commit_together_across_trees() {
    let (_dir, db) = open();
    let (a, b) = (db.open_tree("a").unwrap(), db.open_tree("b").unwrap());
    a.insert("gone", "x").unwrap();
    let seen = transaction::<_, ()>(&[&a, &b], |v| {
        v[0].insert("k", "1")?;
        v[1].insert("k", "2")?;
        v[0].remove("gone")?;
        Ok((v[0].get("k")?, v[0].get("gone")?))
    })
    .unwrap();
    assert_eq!(seen, (Some(IVec::from("1")), None));
    assert_eq!(a.get("k").unwrap(), Some(IVec::from("1")));
    assert_eq!(b.get("k").unwrap(), Some(IVec::from("2")));
    assert_eq!(a.get("gone").unwrap(), None);
}

#[test]
fn an_aborted_body_writes_nothing() {
    let (_dir, db) = open();
    let (a, b) = (db.open_tree("a").unwrap(), db.open_tree("b").unwrap());
    let result = transaction(&[&a, &b], |v| {
        v[0].insert("k", "1")?;
        v[1].insert("k", "2")?;
        Err::<(), _>(ConflictableTransactionError::Abort("no"))
    });
    assert!(matches!(result, Err(TransactionError::Abort("no"))));
    assert!(a.is_empty() && b.is_empty());
}

#[test]
fn a_value_changed_after_the_body_read_it_runs_the_body_again_on_the_new_value() {
    let (_dir, db) = open();
    let tree = db.open_tree("t").unwrap();
    let (result, runs) = increment(&tree, |run| {
        if run == 1 {
            tree.insert("n", &10u64.to_be_bytes()).unwrap();
        }
    });
    assert_eq!(
        result.unwrap(),
        11,
        "the write of the first run would have lost the 10"
    );
    assert_eq!(runs, 2);
    assert_eq!(number(tree.get("n").unwrap()), 11);
}

#[test]
fn a_body_whose_reads_keep_changing_ends_under_the_lock() {
    let (_dir, db) = open();
    let tree = db.open_tree("t").unwrap();
    // Every optimistic run is overtaken; the run under sled's lock cannot be (and a plain write
    // from this thread there would wait on the lock it holds).
    let (result, runs) = increment(&tree, |run| {
        if run <= OPTIMISTIC_TRIES {
            tree.insert("n", &(100 * run as u64).to_be_bytes()).unwrap();
        }
    });
    assert_eq!(runs, OPTIMISTIC_TRIES + 1);
    let last = 100 * OPTIMISTIC_TRIES as u64 + 1;
    assert_eq!(result.unwrap(), last);
    assert_eq!(number(tree.get("n").unwrap()), last);
}

#[test]
fn concurrent_read_modify_writes_lose_no_update() {
    let (_dir, db) = open();
    let tree = db.open_tree("t").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250 {
                    increment(&tree, |_| {}).0.unwrap();
                }
            });
        }
    });
    assert_eq!(number(tree.get("n").unwrap()), 1000);
}

#[test]
fn other_writers_go_on_while_a_body_runs() {
    let (_dir, db) = open();
    let (a, other) = (db.open_tree("a").unwrap(), db.open_tree("other").unwrap());
    transaction::<_, ()>(&[&a], |v| {
        v[0].insert("k", "1")?;
        // Under sled's own transaction this write would wait for the body to end.
        let (done, wrote) = mpsc::channel();
        let other = other.clone();
        std::thread::spawn(move || {
            other.insert("x", "y").unwrap();
            let _ = done.send(());
        });
        assert!(
            wrote.recv_timeout(Duration::from_secs(5)).is_ok(),
            "a plain write waited for the transaction's body"
        );
        Ok(())
    })
    .unwrap();
    assert_eq!(a.get("k").unwrap(), Some(IVec::from("1")));
}

#[test]
fn a_read_only_body_sees_the_store_and_leaves_it_as_it_was() {
    let (_dir, db) = open();
    let tree = db.open_tree("t").unwrap();
    tree.insert("k", "stored").unwrap();
    let seen = read_only::<_, ()>(&[&tree], |v| {
        v[0].insert("k", "changed")?;
        v[0].insert("new", "x")?;
        Ok(v[0].get("k")?)
    })
    .unwrap();
    assert_eq!(
        seen,
        Some(IVec::from("changed")),
        "the body reads its own writes"
    );
    assert_eq!(tree.get("k").unwrap(), Some(IVec::from("stored")));
    assert_eq!(tree.get("new").unwrap(), None);
}

#[test]
fn a_value_made_at_the_commit_is_made_once_for_the_last_write_of_its_key() {
    let (_dir, db) = open();
    let tree = db.open_tree("a").unwrap();
    let made = std::rc::Rc::new(Cell::new(0));
    transaction::<_, ()>(&[&tree], |v| {
        for version in ["one", "two", "three"] {
            let made = made.clone();
            v[0].insert_with(
                "k",
                Box::new(move || {
                    made.set(made.get() + 1);
                    IVec::from(version)
                }),
            )?;
        }
        // Read back before the commit: made on demand, the write stays pending.
        assert_eq!(v[0].get("k")?.as_deref(), Some(&b"three"[..]));
        Ok(())
    })
    .unwrap();
    assert_eq!(tree.get("k").unwrap().as_deref(), Some(&b"three"[..]));
    // Once for the read back, once for the commit; never for the two replaced writes.
    assert_eq!(made.get(), 2);
}
