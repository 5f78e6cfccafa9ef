use super::*;
use serde_json::json;

fn patch(trees: &ContactTrees, id: &str, p: serde_json::Value) -> Result<Contact, ContactError> {
    trees.merge_patch(id, &p, "US", &ChangeCtx::api(9_000))
}

#[test]
fn a_merge_patch_normalises_and_merges() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None);
    patch(
        &trees,
        &c.id,
        json!({"custom": {"a": 1, "b": {"x": 1, "y": 2}}}),
    )
    .unwrap();
    let c = patch(
        &trees,
        &c.id,
        json!({
            "first_name": "  Ann ", "email": " ANN@Example.com", "phone": "(415) 555-0132",
            "tags": ["VIP", "vip", "Booked"], "dnd": true, "timezone": "America/Toronto",
            "custom": {"a": null, "b": {"y": null, "z": 3}}
        }),
    )
    .unwrap();
    assert_eq!(c.first_name.as_deref(), Some("Ann"));
    assert_eq!(c.email, Some(email("ann@example.com")));
    assert_eq!(c.phone, Some(phone("4155550132")));
    assert_eq!(c.tags, tags(&["VIP", "Booked"]));
    assert!(c.dnd);
    assert_eq!(
        serde_json::Value::Object(c.custom.clone()),
        json!({"b": {"x": 1, "z": 3}})
    );
    assert_eq!(c.updated_at, 9_000);
    assert_eq!(
        email_index(&trees),
        vec![("ann@example.com".into(), c.id.clone())]
    );
    let last = trees.timeline(&c.id).unwrap().pop().unwrap();
    assert_eq!(last.actor, Actor::Api);
    assert_eq!(last.changes["tags_added"], json!(["VIP", "Booked"]));
    // Null clears; an empty patch changes nothing and adds no entry.
    let c = patch(&trees, &c.id, json!({"phone": null, "email": null})).unwrap();
    assert_eq!((c.phone, c.email), (None, None));
    assert!(email_index(&trees).is_empty());
    let before = trees.timeline(&c.id).unwrap().len();
    patch(&trees, &c.id, json!({})).unwrap();
    assert_eq!(trees.timeline(&c.id).unwrap().len(), before);
}

#[test]
fn a_patch_taking_anothers_email_is_a_conflict() {
    let (_d, trees) = store();
    let a = make(&trees, Some("a@example.com"), None);
    let b = make(&trees, Some("b@example.com"), None);
    let err = patch(
        &trees,
        &b.id,
        json!({"email": "A@EXAMPLE.COM", "first_name": "x"}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ContactError::EmailTaken {
            email: "a@example.com".into(),
            contact_id: a.id.clone()
        }
    );
    assert!(err.to_string().contains(&a.id));
    assert_eq!(trees.get(&b.id).unwrap().unwrap(), b);
}

#[test]
fn bad_patches_are_invalid_with_a_message_naming_the_field() {
    let (_d, trees) = store();
    let c = make(&trees, Some("a@example.com"), None);
    for (p, needle) in [
        (json!({"nickname": "x"}), "unknown field `nickname`"),
        (json!({"id": "x"}), "`id` cannot be changed"),
        (json!({"sequences": []}), "`sequences` cannot be changed"),
        (json!({"dnd": "yes"}), "`dnd` must be true or false"),
        (json!({"first_name": 3}), "`first_name` must be a string"),
        (json!({"tags": "vip"}), "`tags` must be a list"),
        (json!({"custom": [1]}), "`custom` must be an object"),
        (json!({"email": "nope"}), "invalid email"),
        (json!({"phone": "12"}), "invalid phone"),
        (json!(["not", "an", "object"]), "JSON object"),
    ] {
        match patch(&trees, &c.id, p.clone()) {
            Err(ContactError::Invalid(m)) => assert!(m.contains(needle), "{p}: {m}"),
            other => panic!("{p}: expected Invalid, got {other:?}"),
        }
    }
    assert_eq!(
        patch(&trees, "01NOPE", json!({})).unwrap_err(),
        ContactError::NotFound
    );
    assert_eq!(trees.get(&c.id).unwrap().unwrap(), c);
}

#[test]
fn delete_removes_the_contact_its_indexes_and_its_timeline() {
    let (_d, trees) = store();
    let a = make(&trees, Some("a@example.com"), Some("4155550132"));
    let b = make(&trees, None, Some("4155550199"));
    patch(&trees, &a.id, json!({"first_name": "Ann"})).unwrap();
    let deleted = trees.delete(&a.id).unwrap();
    assert_eq!(deleted.id, a.id);
    assert_eq!(trees.get(&a.id).unwrap(), None);
    assert!(trees.timeline(&a.id).unwrap().is_empty());
    assert_eq!(
        trees.timeline(&b.id).unwrap().len(),
        1,
        "other timelines stay"
    );
    assert!(email_index(&trees).is_empty());
    let (_, _, by_phone, _, _) = trees.trees();
    assert!(by_phone.get("+14155550132").unwrap().is_none());
    assert_eq!(trees.delete(&a.id).unwrap_err(), ContactError::NotFound);
    // The email is free again.
    assert!(find(&trees, Some("a@example.com"), None, true).created);
}

#[test]
fn list_filters_by_text_phone_and_tags() {
    let (_d, trees) = store();
    let ann = make(&trees, Some("ann@example.com"), Some("4155550132"));
    let bob = make(&trees, Some("bob@clinic.org"), None);
    patch(
        &trees,
        &ann.id,
        json!({"first_name": "Ann", "last_name": "Lee", "tags": ["VIP", "Booked"]}),
    )
    .unwrap();
    patch(
        &trees,
        &bob.id,
        json!({"first_name": "Bob", "last_name": "Leeds", "tags": ["booked"]}),
    )
    .unwrap();
    let ids = |q: Option<&str>, tags: &[&str]| -> Vec<String> {
        let query = ContactQuery {
            q: q.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            limit: 50,
            cursor: None,
        };
        trees
            .list(&query, "US")
            .unwrap()
            .0
            .into_iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(
        ids(None, &[]),
        vec![bob.id.clone(), ann.id.clone()],
        "newest first"
    );
    assert_eq!(ids(Some("LEE"), &[]), vec![bob.id.clone(), ann.id.clone()]);
    assert_eq!(ids(Some("ann lee"), &[]), vec![ann.id.clone()]);
    assert_eq!(ids(Some("Clinic.ORG"), &[]), vec![bob.id.clone()]);
    assert_eq!(ids(Some("(415) 555-0132"), &[]), vec![ann.id.clone()]);
    assert!(ids(Some("4155550199"), &[]).is_empty());
    assert_eq!(ids(None, &["BOOKED"]), vec![bob.id.clone(), ann.id.clone()]);
    assert_eq!(ids(None, &["booked", "vip"]), vec![ann.id.clone()]);
    assert_eq!(ids(Some("bob"), &["vip"]), Vec::<String>::new());
}

#[test]
fn list_pages_with_a_cursor_until_none_is_left() {
    let (_d, trees) = store();
    let made: Vec<String> = (0..7)
        .map(|i| make(&trees, Some(&format!("p{i}@example.com")), None).id)
        .collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let q = ContactQuery {
            limit: 3,
            cursor: cursor.clone(),
            ..ContactQuery::default()
        };
        let (page, next) = trees.list(&q, "US").unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.into_iter().map(|c| c.id));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let mut newest_first = made.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    // Exactly one full page: no cursor pointing at an empty page.
    let q = ContactQuery {
        limit: 7,
        ..ContactQuery::default()
    };
    assert_eq!(trees.list(&q, "US").unwrap().1, None);
}
