//! Tests that pin the behaviour hookflow's patched sled (`vendor/sled`, see its README) must
//! keep, through the configuration hookflow opens sled with.

use super::sled_config;
use std::path::Path;

/// Over sled's blob threshold (a quarter of a 512 KiB segment, less a header): stored in a
/// file of its own under `blobs/`, named by its log sequence number.
const BIG: usize = 300 * 1024;

fn write_big(dir: &Path) -> sled::Result<()> {
    let db = sled_config(dir, super::DEFAULT_CACHE).open()?;
    let tree = db.open_tree("requests")?;
    tree.insert("big", vec![7u8; BIG])?;
    db.flush()?;
    Ok(())
}

fn blob_names(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    names
}

/// After a crash, sled's log can resume below where its blob clean-up starts, so a blob file
/// from past the recovered log can sit where the next blob goes. The published sled then
/// failed that write ("File exists"); the patched one writes over the stale file.
#[test]
fn a_blob_file_left_where_the_next_blob_goes_is_overwritten_not_an_error() {
    // The same writes on a fresh store put their blob at the same sequence number.
    let first = tempfile::tempdir().unwrap();
    write_big(first.path()).unwrap();
    let names = blob_names(first.path());
    assert!(!names.is_empty(), "a {BIG}-byte value is a blob");

    let second = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(second.path().join("blobs")).unwrap();
    for name in &names {
        std::fs::write(second.path().join("blobs").join(name), b"left by a crash").unwrap();
    }
    // Unpatched, the write's error left its log reservation open and the flush after it
    // waited for that reservation for ever: the write gets a deadline here.
    let dir = second.path().to_owned();
    let (done, wrote) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(write_big(&dir).map_err(|e| e.to_string())));
    match wrote.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(result) => result.expect("the write succeeds over the stale blob file"),
        Err(_) => panic!("writing a blob over a stale blob file did not return within 30 s"),
    }

    let db = super::open_when_free(&sled_config(second.path(), super::DEFAULT_CACHE)).unwrap();
    let value = db.open_tree("requests").unwrap().get("big").unwrap();
    assert_eq!(
        value.as_deref(),
        Some(&vec![7u8; BIG][..]),
        "read back after reopening"
    );
}

/// `set` writes without reading the value it replaces and `get` reads without a read cache
/// (both hookflow's changes): inside a transaction they still see its own writes first, a
/// `None` removes, an abort writes nothing, and the commit is durable.
#[test]
fn blind_writes_and_uncached_reads_keep_a_transactions_view_and_its_atomicity() {
    use sled::transaction::{ConflictableTransactionError, Transactional};
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled_config(dir.path(), super::DEFAULT_CACHE)
            .open()
            .unwrap();
        let (a, b) = (db.open_tree("a").unwrap(), db.open_tree("b").unwrap());
        a.insert("kept", "old").unwrap();
        a.insert("gone", "x").unwrap();
        let aborted = (&a, &b).transaction(|(a, b)| {
            a.set("kept", Some("new".into()));
            b.set("other", Some("y".into()));
            Err::<(), _>(ConflictableTransactionError::Abort(()))
        });
        assert!(aborted.is_err());
        assert_eq!(a.get("kept").unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(
            b.get("other").unwrap(),
            None,
            "an aborted transaction writes nothing"
        );

        let seen = (&a, &b)
            .transaction(|(a, b)| {
                let before = a.get("kept")?;
                a.set("kept", Some("new".into()));
                a.set("gone", None);
                b.set("other", Some("y".into()));
                Ok::<_, ConflictableTransactionError<()>>((
                    before,
                    a.get("kept")?,
                    a.get("gone")?,
                    a.get("kept")?,
                ))
            })
            .unwrap();
        assert_eq!(
            seen.0.as_deref(),
            Some(&b"old"[..]),
            "the tree's value before a write"
        );
        assert_eq!(seen.1.as_deref(), Some(&b"new"[..]), "its own write first");
        assert_eq!(seen.2, None, "its own removal");
        assert_eq!(seen.3.as_deref(), Some(&b"new"[..]), "sled's get agrees");
        db.flush().unwrap();
    }
    let db = super::open_when_free(&sled_config(dir.path(), super::DEFAULT_CACHE)).unwrap();
    let (a, b) = (db.open_tree("a").unwrap(), db.open_tree("b").unwrap());
    assert_eq!(a.get("kept").unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(a.get("gone").unwrap(), None);
    assert_eq!(b.get("other").unwrap().as_deref(), Some(&b"y"[..]));
}
