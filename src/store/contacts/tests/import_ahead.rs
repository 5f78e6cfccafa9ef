//! An import reads and encodes its rows on a thread of its own, ahead of the transactions
//! that apply them: what it stores is still what the matching rules give, and a file that
//! fails midway leaves whole batches whose indexes agree with the contacts.

use super::index::{assert_lists_match_a_scan, csv, import};
use super::*;
use std::io::Read;

/// A file that gives `text`, then fails (a disk error while reading the spooled upload).
struct FailsAfter {
    text: std::io::Cursor<Vec<u8>>,
}

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.text.read(buf)? {
            0 => Err(std::io::Error::other("the disk went away")),
            n => Ok(n),
        }
    }
}

#[test]
fn a_file_that_fails_midway_keeps_its_whole_batches_and_their_indexes_agree_with_a_scan() {
    let (_dir, trees) = store();
    let text = csv(0, 600, "imported").into_bytes();
    let file = FailsAfter {
        text: std::io::Cursor::new(text),
    };
    let outcome = trees.import_checked(file, "US", &ChangeCtx::import(9));
    match outcome {
        Err(ContactError::Store(msg)) => assert!(msg.contains("the disk went away"), "{msg}"),
        other => panic!("expected the read error, got {other:?}"),
    }
    // A batch of 500 was read and applied before the error; the 100 rows read after it
    // were not. (A scan lists 1,000 contacts at most: the file stays below.)
    let contacts = all(&trees);
    assert_eq!(contacts.len(), 500);
    let first: Vec<String> = contacts
        .iter()
        .take(3)
        .map(|c| c.email.clone().unwrap().to_string())
        .collect();
    assert_eq!(first, ["p0@example.org", "p1@clinic.com", "p2@clinic.com"]);
    assert_lists_match_a_scan(&trees, "after a failed read");
    // The same file again, whole: the first 500 rows match, the rest are made.
    let report = trees
        .import_csv(
            csv(0, 600, "imported").as_bytes(),
            "US",
            &ChangeCtx::import(10),
        )
        .unwrap();
    assert_eq!((report.created, report.updated), (100, 500), "{report:?}");
    assert_lists_match_a_scan(&trees, "after the whole file");
}

#[test]
fn a_row_whose_id_belongs_to_another_contact_makes_a_contact_of_its_own_with_a_fresh_id() {
    let (_dir, trees) = store();
    let owner = "01JXT21Q00C6YVRD8JQ5GSPSVC";
    import(
        &trees,
        &format!("Contact Id,Email,First Name\n{owner},ann@x.com,Ann\n"),
    );
    let row = format!("Contact Id,Email,First Name,Tags\n{owner},bob@x.com,Bob,imported\n");
    let report = trees
        .import_csv(row.as_bytes(), "US", &ChangeCtx::import(20))
        .unwrap();
    assert_eq!((report.created, report.updated), (1, 0), "{report:?}");
    let contacts = all(&trees);
    assert_eq!(contacts.len(), 2);
    let (ann, bob) = (&contacts[0], &contacts[1]);
    assert_eq!(ann.id, owner);
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    assert_ne!(bob.id, owner, "the row's id was taken");
    assert_eq!(bob.email, Some(email("bob@x.com")));
    assert_eq!(bob.created_at, 20);
    let timeline = trees.timeline(&bob.id).unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].changes["email"]["to"], "bob@x.com");
    assert_eq!(
        trees.timeline(owner).unwrap().len(),
        1,
        "Ann's own entry only"
    );
    assert_lists_match_a_scan(&trees, "after a row with a taken id");
}
