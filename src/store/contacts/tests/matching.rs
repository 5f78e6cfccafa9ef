use super::*;

#[test]
fn email_case_and_spaces_find_the_same_contact() {
    let (_d, trees) = store();
    let jane = make(&trees, Some("jane@example.com"), None);
    let out = find(&trees, Some("  JANE@Example.com "), None, true);
    assert_eq!(out.contact.unwrap().id, jane.id);
    assert!(!out.created);
    assert_eq!(out.matched_by, Some(MatchedBy::Email));
}

#[test]
fn a_phone_only_payload_finds_the_single_phone_holder() {
    let (_d, trees) = store();
    let jane = make(&trees, Some("jane@example.com"), Some("(415) 555-0132"));
    let out = find(&trees, None, Some("+1 415.555.0132"), false);
    assert_eq!(out.contact.unwrap().id, jane.id);
    assert_eq!(out.matched_by, Some(MatchedBy::Phone));
}

#[test]
fn a_phone_holder_without_email_matches_a_payload_with_email() {
    let (_d, trees) = store();
    let anon = make(&trees, None, Some("4155550132"));
    let out = find(&trees, Some("new@example.com"), Some("4155550132"), true);
    assert_eq!(out.contact.unwrap().id, anon.id);
    assert_eq!(out.matched_by, Some(MatchedBy::Phone));
}

#[test]
fn a_family_phone_is_not_copied_onto_the_second_person() {
    let (_d, trees) = store();
    let mum = make(&trees, Some("mum@example.com"), Some("4155550132"));
    let out = find(&trees, Some("kid@example.com"), Some("4155550132"), true);
    let kid = out.contact.unwrap();
    assert!(out.created);
    assert_ne!(kid.id, mum.id);
    assert_eq!(kid.phone, None);
    assert_eq!(kid.email, Some(email("kid@example.com")));
    assert_eq!(out.warnings.len(), 1);
    assert!(
        out.warnings[0].contains("+14155550132"),
        "{:?}",
        out.warnings
    );
    // The phone still leads to mum alone.
    let by_phone = find(&trees, None, Some("4155550132"), false);
    assert_eq!(by_phone.contact.unwrap().id, mum.id);
}

#[test]
fn a_phone_held_by_two_contacts_matches_neither() {
    let (_d, trees) = store();
    let a = make(&trees, None, Some("4155550132"));
    // A second holder can only come from an edit; give b the same phone through a patch.
    let b = make(&trees, Some("b@example.com"), None);
    trees
        .merge_patch(
            &b.id,
            &serde_json::json!({"phone": "4155550132"}),
            "US",
            &ChangeCtx::api(5),
        )
        .unwrap();
    let holders = trees
        .transaction(|tx| tx.by_phone(&phone("4155550132")))
        .unwrap();
    assert_eq!(holders.len(), 2);
    let miss = find(&trees, None, Some("4155550132"), false);
    assert_eq!(miss.contact, None);
    let made = find(&trees, None, Some("4155550132"), true);
    let made = made.contact.unwrap();
    assert!(made.id != a.id && made.id != b.id);
    assert_eq!(
        made.phone, None,
        "b has an email, so the phone is not copied"
    );
}

#[test]
fn a_miss_without_create_gives_no_contact_and_writes_nothing() {
    let (_d, trees) = store();
    let out = find(
        &trees,
        Some("nobody@example.com"),
        Some("4155550132"),
        false,
    );
    assert_eq!(
        out,
        FindOutcome {
            contact: None,
            created: false,
            matched_by: None,
            warnings: vec![]
        }
    );
    assert!(all(&trees).is_empty());
}

#[test]
fn find_without_email_or_phone_is_invalid() {
    let (_d, trees) = store();
    let err = trees
        .transaction(|tx| find_contact(tx, &FindInput::default(), true, &run_ctx()))
        .unwrap_err();
    assert!(matches!(err, ContactError::Invalid(m) if m.contains("email or a phone")));
}

#[test]
fn a_created_contact_gets_names_source_and_one_timeline_entry() {
    let (_d, trees) = store();
    let input = FindInput {
        email: Some(email("jo@example.com")),
        phone: Some(phone("4155550132")),
        first_name: Some("Jo".into()),
        last_name: Some("Bloggs".into()),
        source: Some("optimantra".into()),
    };
    let out = trees
        .transaction(|tx| find_contact(tx, &input, true, &run_ctx()))
        .unwrap();
    let c = out.contact.unwrap();
    assert_eq!(
        (c.first_name.as_deref(), c.source.as_deref()),
        (Some("Jo"), Some("optimantra"))
    );
    let timeline = trees.timeline(&c.id).unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].run_id.as_deref(), Some("RUN1"));
    assert_eq!(timeline[0].changes["email"]["to"], "jo@example.com");
    assert_eq!(trees.get(&c.id).unwrap(), Some(c));
}
