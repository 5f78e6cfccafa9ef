use super::*;
use serde_json::json;

fn update(
    trees: &ContactTrees,
    c: &Contact,
    u: &ContactUpdate,
) -> Result<UpdateOutcome, ContactError> {
    trees.transaction(|tx| apply_update(tx, c, u, &run_ctx()))
}

#[test]
fn tags_match_case_insensitively_and_keep_the_first_form() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None);
    let (c, added) = trees
        .transaction(|tx| add_tags(tx, &c, &tags(&["Booked", "vip", "VIP"]), &run_ctx()))
        .unwrap();
    assert_eq!(added, tags(&["Booked", "vip"]));
    let (c, added) = trees
        .transaction(|tx| add_tags(tx, &c, &tags(&["BOOKED"]), &run_ctx()))
        .unwrap();
    assert!(added.is_empty(), "a present tag is a noop");
    assert_eq!(c.tags, tags(&["Booked", "vip"]));
    assert!(c.has_tag("booked"));
    let (c, removed) = trees
        .transaction(|tx| remove_tags(tx, &c, &tags(&["booked", "absent"]), &run_ctx()))
        .unwrap();
    assert_eq!(removed, tags(&["Booked"]));
    assert_eq!(c.tags, tags(&["vip"]));
    let (_, removed) = trees
        .transaction(|tx| remove_tags(tx, &c, &tags(&["absent"]), &run_ctx()))
        .unwrap();
    assert!(removed.is_empty(), "removing an absent tag is a noop");
    assert_eq!(trees.get(&c.id).unwrap().unwrap().tags, tags(&["vip"]));
}

#[test]
fn every_change_adds_one_timeline_entry_and_noops_add_none() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None); // 1: created
    let (c, _) = trees
        .transaction(|tx| add_tags(tx, &c, &tags(&["x"]), &run_ctx()))
        .unwrap(); // 2
    let (c, _) = trees
        .transaction(|tx| add_tags(tx, &c, &tags(&["X"]), &run_ctx()))
        .unwrap(); // noop
    let (c, changed) = trees
        .transaction(|tx| set_dnd(tx, &c, true, &run_ctx()))
        .unwrap(); // 3
    assert!(changed);
    let (c, changed) = trees
        .transaction(|tx| set_dnd(tx, &c, true, &run_ctx()))
        .unwrap(); // noop
    assert!(!changed);
    let u = ContactUpdate {
        first_name: Some("Ann".into()),
        ..ContactUpdate::default()
    };
    let out = update(&trees, &c, &u).unwrap(); // 4
    assert!(out.changed);
    assert_eq!(
        out.changes,
        json!({"first_name": {"from": null, "to": "Ann"}})
    );
    let again = update(&trees, &out.contact, &u).unwrap(); // noop
    assert!(!again.changed);
    let timeline = trees.timeline(&c.id).unwrap();
    assert_eq!(timeline.len(), 4);
    assert_eq!(timeline[1].changes, json!({"tags_added": ["x"]}));
    assert_eq!(
        timeline[2].changes,
        json!({"dnd": {"from": false, "to": true}})
    );
    assert_eq!(timeline[3].step.as_deref(), Some("[0]"));
}

#[test]
fn an_update_moves_the_indexes_with_the_contact() {
    let (_d, trees) = store();
    let c = make(&trees, Some("old@example.com"), Some("4155550132"));
    let u = ContactUpdate {
        email: Some(email("new@example.com")),
        phone: Some(phone("4155550199")),
        custom: [("visit".to_string(), json!("2026-01-02"))]
            .into_iter()
            .collect(),
        ..ContactUpdate::default()
    };
    let out = update(&trees, &c, &u).unwrap();
    assert_eq!(
        out.changes["custom.visit"],
        json!({"from": null, "to": "2026-01-02"})
    );
    assert_eq!(
        email_index(&trees),
        vec![("new@example.com".into(), c.id.clone())]
    );
    assert!(find(&trees, Some("old@example.com"), None, false)
        .contact
        .is_none());
    assert!(find(&trees, None, Some("4155550132"), false)
        .contact
        .is_none());
    assert_eq!(
        find(&trees, None, Some("4155550199"), false)
            .contact
            .unwrap()
            .id,
        c.id
    );
}

#[test]
fn an_email_clash_aborts_the_whole_update() {
    let (_d, trees) = store();
    let a = make(&trees, Some("a@example.com"), None);
    let b = make(&trees, Some("b@example.com"), None);
    let u = ContactUpdate {
        first_name: Some("Bee".into()),
        email: Some(email("A@example.com")),
        ..ContactUpdate::default()
    };
    let err = update(&trees, &b, &u).unwrap_err();
    assert_eq!(
        err,
        ContactError::EmailTaken {
            email: "a@example.com".into(),
            contact_id: a.id
        }
    );
    assert_eq!(
        trees.get(&b.id).unwrap().unwrap(),
        b,
        "nothing of the update was kept"
    );
    assert_eq!(trees.timeline(&b.id).unwrap().len(), 1);
}

#[test]
fn contact_changes_commit_together_with_a_callers_own_tree() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let trees = ContactTrees::open(&db).unwrap();
    let runs = db.open_tree("runs").unwrap();
    let c = make(&trees, Some("a@example.com"), None);
    let (t1, t2, t3, t4, t5) = trees.trees();
    let step = |fail: bool| {
        crate::store::txn::transaction(&[t1, t2, t3, t4, t5, &runs], |v| {
            let tx = ContactTx::new(&v[0], &v[1], &v[2], &v[3], &v[4]);
            let runs = &v[5];
            let current = tx.get(&c.id)?.ok_or(ContactError::NotFound)?;
            add_tags(&tx, &current, &tags(&["Booked"]), &run_ctx())?;
            runs.insert("RUN1", "position [1]")?;
            if fail {
                return abort(ContactError::Invalid("the step failed".into()));
            }
            Ok(())
        })
    };
    assert!(step(true).is_err());
    assert!(
        trees.get(&c.id).unwrap().unwrap().tags.is_empty(),
        "an aborted step keeps nothing"
    );
    assert_eq!(trees.timeline(&c.id).unwrap().len(), 1);
    assert!(runs.get("RUN1").unwrap().is_none());
    step(false).unwrap();
    assert_eq!(trees.get(&c.id).unwrap().unwrap().tags, tags(&["Booked"]));
    assert!(runs.get("RUN1").unwrap().is_some());
}

#[test]
fn a_transaction_reads_a_contact_as_it_last_wrote_or_deleted_it() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None);
    let (seen_after_tag, seen_after_delete) = trees
        .transaction(|tx| {
            let before = tx.get(&c.id)?.expect("stored");
            add_tags(tx, &before, &tags(&["Booked"]), &run_ctx())?;
            let tagged = tx.get(&c.id)?;
            tx.delete(&c.id)?;
            Ok((tagged, tx.get(&c.id)?))
        })
        .unwrap();
    assert_eq!(seen_after_tag.unwrap().tags, tags(&["Booked"]));
    assert_eq!(seen_after_delete, None);
    assert_eq!(trees.get(&c.id).unwrap(), None, "the delete committed");
}
