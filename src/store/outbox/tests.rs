//! Tests of the outbox store.

use super::*;
use crate::store::test_fixtures::outbox_record as record;
use crate::store::txn;

fn open() -> (tempfile::TempDir, OutboxTrees) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    (dir, OutboxTrees::open(&db).unwrap())
}

#[test]
fn records_serialize_with_the_documented_state_names() {
    let json = serde_json::to_value(record("A", OutboxState::Skipped)).unwrap();
    assert_eq!(json["state"], "skipped");
    for key in [
        "id",
        "to",
        "subject",
        "attempts",
        "last_error",
        "message_id",
        "run_id",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn list_is_newest_first_with_a_cursor_and_a_state_or_contact_filter() {
    let (_dir, trees) = open();
    for (id, state) in [
        ("01A", OutboxState::Queued),
        ("01B", OutboxState::Skipped),
        ("01C", OutboxState::Queued),
    ] {
        let mut r = record(id, state);
        if id == "01B" {
            r.contact_id = Some("c2".into());
        }
        trees.insert(&r, Some("c1")).unwrap();
    }
    let page = trees.list(None, None, None, 2).unwrap();
    let ids: Vec<_> = page.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01C", "01B"]);
    assert_eq!(page.next_cursor.as_deref(), Some("01B"));
    let rest = trees
        .list(None, None, page.next_cursor.as_deref(), 2)
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next_cursor, None);
    let queued = trees
        .list(Some(OutboxState::Queued), None, None, 10)
        .unwrap();
    assert_eq!(queued.items.len(), 2);
    let c2 = trees.list(None, Some("c2"), None, 10).unwrap();
    let ids: Vec<_> = c2.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01B"]);
}

#[test]
fn skipped_records_are_never_due_and_queued_ones_wait_for_their_time() {
    let (_dir, trees) = open();
    trees
        .insert(&record("01A", OutboxState::Skipped), None)
        .unwrap();
    let mut later = record("01B", OutboxState::Queued);
    later.next_attempt_at = 5_000;
    trees.insert(&later, None).unwrap();
    assert!(trees.pending_due(4_999, 100).unwrap().is_empty());
    let due = trees.pending_due(5_000, 100).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, "01B");
}

#[test]
fn mark_moves_through_the_states_and_refuses_a_wrong_start() {
    let (_dir, trees) = open();
    trees
        .insert(&record("01A", OutboxState::Queued), None)
        .unwrap();
    let r = trees.mark("01A", &Transition::Sending).unwrap();
    assert_eq!((r.state, r.attempts), (OutboxState::Sending, 1));
    let again = trees.mark("01A", &Transition::Sending);
    assert!(
        matches!(again, Err(OutboxError::WrongState { .. })),
        "{again:?}"
    );
    let sent = Transition::Sent {
        message_id: "<01A@hookflow>".into(),
        sent_at: 7,
        eml_path: None,
    };
    let r = trees.mark("01A", &sent).unwrap();
    assert_eq!(r.state, OutboxState::Sent);
    assert!(
        trees.pending_rows().unwrap().is_empty(),
        "a sent record left the pending index"
    );
    assert_eq!(trees.get("01A").unwrap().unwrap().sent_at, Some(7));
    assert!(matches!(
        trees.mark("nope", &Transition::Sending),
        Err(OutboxError::NotFound(_))
    ));
}

#[test]
fn insert_tx_commits_or_aborts_together_with_the_callers_other_trees() {
    #[derive(Debug)]
    struct EngineError;
    impl From<OutboxError> for EngineError {
        fn from(_: OutboxError) -> Self {
            EngineError
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let trees = OutboxTrees::open(&db).unwrap();
    let contacts = db.open_tree("contacts").unwrap();
    let all = [
        &contacts,
        trees.outbox(),
        trees.bodies(),
        trees.pending(),
        trees.unsubscribe(),
    ];
    let aborted: Result<(), TransactionError<EngineError>> = txn::transaction(&all, |v| {
        let [c, o, b, p, u] = v else { unreachable!() };
        c.insert("c1", "changed")?;
        insert_tx::<EngineError>(o, b, p, u, &record("01A", OutboxState::Queued), Some("c1"))?;
        Err(ConflictableTransactionError::Abort(EngineError))
    });
    assert!(aborted.is_err());
    assert!(trees.get("01A").unwrap().is_none() && contacts.get("c1").unwrap().is_none());
    txn::transaction(&all, |v| {
        let [c, o, b, p, u] = v else { unreachable!() };
        c.insert("c1", "changed")?;
        insert_tx::<EngineError>(o, b, p, u, &record("01A", OutboxState::Queued), Some("c1"))
    })
    .unwrap();
    assert_eq!(trees.pending_due(1_000, 100).unwrap().len(), 1);
    assert!(contacts.get("c1").unwrap().is_some());
}

#[test]
fn tokens_map_to_their_contact() {
    let (_dir, trees) = open();
    trees
        .insert(&record("01A", OutboxState::Queued), Some("c42"))
        .unwrap();
    assert_eq!(
        trees.contact_for_token("tok-01A").unwrap().as_deref(),
        Some("c42")
    );
    assert_eq!(trees.contact_for_token("other").unwrap(), None);
}

#[test]
fn the_body_is_written_once_and_state_changes_rewrite_only_the_small_row() {
    let (_dir, trees) = open();
    let mut r = record("01A", OutboxState::Queued);
    r.html = Some(format!(
        "<p>{}</p>",
        "Your appointment is confirmed. ".repeat(40)
    ));
    trees.insert(&r, Some("c1")).unwrap();
    let body_before = trees
        .bodies()
        .get("01A")
        .unwrap()
        .expect("the body is stored apart");
    let row_len = |trees: &OutboxTrees| trees.outbox().get("01A").unwrap().unwrap().len();
    assert!(row_len(&trees) < 400, "row of {} bytes", row_len(&trees));

    let sending = trees.mark("01A", &Transition::Sending).unwrap();
    assert_eq!(
        sending.html, r.html,
        "a marked record comes back whole (the mailer sends it)"
    );
    let sent = Transition::Sent {
        message_id: "<01A@hookflow>".into(),
        sent_at: 2_000,
        eml_path: Some("/data/outbox/01A.eml".into()),
    };
    trees.mark("01A", &sent).unwrap();
    assert!(row_len(&trees) < 400, "row of {} bytes", row_len(&trees));
    assert_eq!(trees.bodies().get("01A").unwrap().unwrap(), body_before);
    let read = trees.get("01A").unwrap().unwrap();
    assert_eq!(
        (read.state, &read.html, &read.text),
        (OutboxState::Sent, &r.html, &r.text)
    );
    let listed = trees.list(None, None, None, 10).unwrap();
    assert_eq!(listed.items[0].html, r.html);
}

#[test]
fn a_row_written_before_bodies_were_split_keeps_its_inline_body_through_state_changes() {
    let (_dir, trees) = open();
    let old = record("01A", OutboxState::Queued);
    trees
        .outbox()
        .insert("01A", serde_json::to_vec(&old).unwrap())
        .unwrap();
    trees.pending().insert("01A", &[][..]).unwrap();
    assert_eq!(trees.pending_due(1_000, 10).unwrap()[0].text, old.text);
    let marked = trees.mark("01A", &Transition::Sending).unwrap();
    assert_eq!(marked.text.as_deref(), Some("Hello"));
    assert_eq!(
        trees.get("01A").unwrap().unwrap().text.as_deref(),
        Some("Hello")
    );
    assert!(trees.bodies().get("01A").unwrap().is_none());
}
