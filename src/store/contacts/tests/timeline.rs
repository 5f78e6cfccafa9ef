//! How timeline entries are stored: one key per contact per transaction, and the values that
//! older hookflows wrote (one entry a key) still read.

use super::*;
use crate::store::codec;
use crate::store::contacts::timeline::{key as timeline_key, prefix as timeline_prefix};
use serde_json::{json, Value};

/// The step `i` of run `RUN1` at 1,000 ms.
fn step(i: usize) -> ChangeCtx {
    ChangeCtx {
        step: Some(format!("[{i}]")),
        ..run_ctx()
    }
}

/// What a booking's run does in its one batch transaction: find (and make) the contact, set
/// its name and a custom field, tag it. Returns the contact.
fn book(tx: &ContactTx<'_>, email: &str) -> TxResult<Contact> {
    let input = FindInput {
        email: Some(self::email(email)),
        phone: Some(phone("4155550132")),
        source: Some("optimantra-booking".into()),
        ..FindInput::default()
    };
    let found = find_contact(tx, &input, true, &step(0))?;
    let update = ContactUpdate {
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        custom: json!({"last_booking": "2026-12-03"})
            .as_object()
            .unwrap()
            .clone(),
        ..ContactUpdate::default()
    };
    let updated = apply_update(tx, &found.contact.unwrap(), &update, &step(1))?;
    let (tagged, _) = add_tags(tx, &updated.contact, &tags(&["Booked"]), &step(2))?;
    Ok(tagged)
}

/// The entries a booking leaves, as the timeline showed them before entries were grouped.
fn booking_entries(email: &str) -> Vec<TimelineEntry> {
    let entry = |i, changes| TimelineEntry {
        at: 1_000,
        run_id: Some("RUN1".into()),
        step: Some(format!("[{i}]")),
        actor: Actor::Run,
        changes,
    };
    vec![
        entry(
            0,
            json!({"email": {"from": null, "to": email},
                   "phone": {"from": null, "to": "+14155550132"},
                   "source": {"from": null, "to": "optimantra-booking"}}),
        ),
        entry(
            1,
            json!({"first_name": {"from": null, "to": "Jane"},
                   "last_name": {"from": null, "to": "Doe"},
                   "custom.last_booking": {"from": null, "to": "2026-12-03"}}),
        ),
        entry(2, json!({"tags_added": ["Booked"]})),
    ]
}

/// The stored timeline keys and values of contact `id`.
fn stored(trees: &ContactTrees, id: &str) -> Vec<(sled::IVec, sled::IVec)> {
    let (_, _, _, timeline, _) = trees.trees();
    timeline
        .scan_prefix(timeline_prefix(id))
        .map(|kv| kv.unwrap())
        .collect()
}

/// A value as an older hookflow stored it: one entry's JSON, compressed.
fn old_value(entry: &TimelineEntry) -> Vec<u8> {
    codec::compress(serde_json::to_vec(entry).unwrap())
}

#[test]
fn a_booking_transaction_stores_its_three_entries_under_one_key_and_reads_them_in_order() {
    let (_d, trees) = store();
    let jane = trees
        .transaction(|tx| book(tx, "jane@example.com"))
        .unwrap();
    let keys = stored(&trees, &jane.id);
    assert_eq!(keys.len(), 1, "one key for the transaction's three entries");
    let json = codec::json_of(&keys[0].1).unwrap();
    assert_eq!(json.first(), Some(&b'['), "a list of entries");
    assert_eq!(
        trees.timeline(&jane.id).unwrap(),
        booking_entries("jane@example.com")
    );
}

#[test]
fn two_transactions_leave_two_keys_read_oldest_first() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None);
    let ctx = step(5);
    trees
        .transaction(|tx| {
            let (c, _) = add_tags(tx, &c, &tags(&["x"]), &ctx)?;
            set_dnd(tx, &c, true, &ctx)
        })
        .unwrap();
    let keys = stored(&trees, &c.id);
    assert_eq!(keys.len(), 2, "one key for each transaction");
    assert!(keys[0].0 < keys[1].0);
    let changes: Vec<Value> = trees
        .timeline(&c.id)
        .unwrap()
        .into_iter()
        .map(|e| e.changes)
        .collect();
    assert_eq!(
        changes,
        [
            json!({"email": {"from": null, "to": "a@example.com"}}),
            json!({"tags_added": ["x"]}),
            json!({"dnd": {"from": false, "to": true}}),
        ]
    );
}

#[test]
fn a_transaction_changing_two_contacts_gives_each_its_own_key() {
    let (_d, trees) = store();
    let a = make(&trees, Some("a@example.com"), None);
    let b = make(&trees, Some("b@example.com"), None);
    trees
        .transaction(|tx| {
            let (a2, _) = add_tags(tx, &a, &tags(&["x"]), &run_ctx())?;
            add_tags(tx, &b, &tags(&["y"]), &run_ctx())?;
            set_dnd(tx, &a2, true, &run_ctx())
        })
        .unwrap();
    assert_eq!(stored(&trees, &a.id).len(), 2);
    assert_eq!(stored(&trees, &b.id).len(), 2);
    let a_changes: Vec<Value> = trees.timeline(&a.id).unwrap()[1..]
        .iter()
        .map(|e| e.changes.clone())
        .collect();
    assert_eq!(
        a_changes,
        [
            json!({"tags_added": ["x"]}),
            json!({"dnd": {"from": false, "to": true}})
        ]
    );
    assert_eq!(
        trees.timeline(&b.id).unwrap()[1].changes,
        json!({"tags_added": ["y"]})
    );
}

#[test]
fn single_entry_values_of_an_older_hookflow_still_read_before_and_beside_grouped_ones() {
    let (_d, trees) = store();
    let jane = make(&trees, Some("jane@example.com"), None);
    let (_, _, _, timeline, _) = trees.trees();
    timeline.clear().unwrap();
    let old = booking_entries("jane@example.com");
    // The form written before grouping (compressed), and the plain JSON of older still.
    let older_ulid = "01H00000000000000000000000";
    timeline
        .insert(timeline_key(&jane.id, older_ulid), old_value(&old[0]))
        .unwrap();
    let plain = serde_json::to_vec(&old[1]).unwrap();
    timeline
        .insert(timeline_key(&jane.id, "01H00000000000000000000001"), plain)
        .unwrap();
    timeline
        .insert(
            timeline_key(&jane.id, "01H00000000000000000000002"),
            old_value(&old[2]),
        )
        .unwrap();
    assert_eq!(trees.timeline(&jane.id).unwrap(), old);

    // A later transaction adds a grouped key after them.
    trees
        .transaction(|tx| {
            let (c, _) = add_tags(tx, &jane, &tags(&["x"]), &run_ctx())?;
            set_dnd(tx, &c, true, &run_ctx())
        })
        .unwrap();
    let entries = trees.timeline(&jane.id).unwrap();
    assert_eq!(entries[..3], old[..]);
    assert_eq!(entries.len(), 5);
    assert_eq!(
        entries[4].changes,
        json!({"dnd": {"from": false, "to": true}})
    );
    assert_eq!(stored(&trees, &jane.id).len(), 4);
}

#[test]
fn deleting_a_contact_removes_its_old_and_grouped_entries_alike() {
    let (_d, trees) = store();
    let jane = trees
        .transaction(|tx| book(tx, "jane@example.com"))
        .unwrap();
    let bob = make(&trees, Some("bob@example.com"), None);
    let (_, _, _, timeline, _) = trees.trees();
    let old = &booking_entries("jane@example.com")[0];
    timeline
        .insert(
            timeline_key(&jane.id, "01H00000000000000000000000"),
            old_value(old),
        )
        .unwrap();
    assert_eq!(trees.timeline(&jane.id).unwrap().len(), 4);
    trees.delete(&jane.id).unwrap();
    assert!(stored(&trees, &jane.id).is_empty());
    assert!(trees.timeline(&jane.id).unwrap().is_empty());
    assert_eq!(
        trees.timeline(&bob.id).unwrap().len(),
        1,
        "other timelines stay"
    );
}

#[test]
fn an_imported_contact_changed_again_in_the_same_import_keeps_both_entries_under_one_key() {
    let (_d, trees) = store();
    let csv = "Email,First Name\nann@x.com,Ann\nann@x.com,Anna\n";
    let report = trees
        .import_csv(csv.as_bytes(), "US", &ChangeCtx::import(9))
        .unwrap();
    assert_eq!((report.created, report.updated), (1, 1), "{report:?}");
    let ann = &all(&trees)[0];
    let entries = trees.timeline(&ann.id).unwrap();
    let changes: Vec<&Value> = entries.iter().map(|e| &e.changes).collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["first_name"]["to"], "Ann");
    assert_eq!(
        changes[1],
        &json!({"first_name": {"from": "Ann", "to": "Anna"}})
    );
    assert!(entries.iter().all(|e| e.actor == Actor::Import));
    assert_eq!(stored(&trees, &ann.id).len(), 1, "one import transaction");
}

#[test]
fn a_timeline_value_that_is_neither_an_entry_nor_a_list_is_a_store_error_naming_the_contact() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None);
    let (_, _, _, timeline, _) = trees.trees();
    timeline
        .insert(
            timeline_key(&c.id, "01Z00000000000000000000000"),
            &b"42"[..],
        )
        .unwrap();
    let err = trees.timeline(&c.id).unwrap_err().to_string();
    assert!(err.contains(&c.id), "{err}");
    assert!(err.contains("neither an entry"), "{err}");
}
