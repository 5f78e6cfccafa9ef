//! Lists served from the tag and search index give what a scan of every contact gives, page
//! by page, after every kind of write, and a store without the index builds it when it opens.

use super::*;
use serde_json::json;

const FIRST: [&str; 5] = ["Ann", "Joanna", "Bob", "Zoë", "Anne-Marie"];
const LAST: [&str; 4] = ["Lee", "Leeds", "Smith", "Ånström"];
const TAGS: [&str; 3] = ["VIP", "Booked", "lead"];

/// Rows `from..to` of a CSV: names and tags vary with the row number.
pub(super) fn csv(from: usize, to: usize, extra_tag: &str) -> String {
    let mut out = String::from("Email,First Name,Last Name,Tags\n");
    for i in from..to {
        let tags: Vec<&str> = TAGS
            .iter()
            .enumerate()
            .filter(|(t, _)| i % (t + 2) == 0)
            .map(|(_, tag)| *tag)
            .chain((!extra_tag.is_empty()).then_some(extra_tag))
            .collect();
        let domain = if i % 3 == 0 {
            "example.org"
        } else {
            "clinic.com"
        };
        out += &format!(
            "p{i}@{domain},{},{},{}\n",
            FIRST[i % FIRST.len()],
            LAST[i % LAST.len()],
            tags.join(";")
        );
    }
    out
}

pub(super) fn import(trees: &ContactTrees, csv: &str) {
    let report = trees
        .import_csv(csv.as_bytes(), "US", &ChangeCtx::import(9))
        .unwrap();
    assert!(report.skipped.is_empty(), "{report:?}");
}

/// What the list must give, computed from every contact without any index.
pub(super) fn scanned(trees: &ContactTrees, q: Option<&str>, tags: &[&str]) -> Vec<String> {
    let mut contacts = all(trees);
    contacts.sort_by(|a, b| b.id.cmp(&a.id));
    contacts
        .into_iter()
        .filter(|c| {
            tags.iter()
                .all(|t| c.tags.iter().any(|have| have.key() == t.to_lowercase()))
        })
        .filter(|c| {
            let Some(q) = q else { return true };
            let first = c.first_name.clone().unwrap_or_default();
            let last = c.last_name.clone().unwrap_or_default();
            let full = format!("{first} {last}").trim().to_string();
            let email = c.email.as_ref().map(|e| e.to_string()).unwrap_or_default();
            [first, last, full, email]
                .iter()
                .any(|f| f.to_lowercase().contains(&q.to_lowercase()))
        })
        .map(|c| c.id)
        .collect()
}

/// Every page of the list, `limit` at a time, following the cursors.
pub(super) fn listed(
    trees: &ContactTrees,
    q: Option<&str>,
    tags: &[&str],
    limit: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let query = ContactQuery {
            q: q.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            limit,
            cursor,
        };
        let (page, next) = trees.list(&query, "US").unwrap();
        assert!(page.len() <= limit);
        assert!(
            next.is_none() || page.len() == limit,
            "a cursor only after a full page"
        );
        seen.extend(page.into_iter().map(|c| c.id));
        match next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

pub(super) fn assert_lists_match_a_scan(trees: &ContactTrees, when: &str) {
    let queries: [(Option<&str>, &[&str]); 12] = [
        (None, &["vip"]),
        (None, &["BOOKED", "lead"]),
        (None, &["vip", "booked", "lead"]),
        (None, &["imported"]),
        (Some("ann"), &[]),
        (Some("ANN LEE"), &[]),
        (Some("ström"), &[]),
        (Some("zoë smith"), &[]),
        (Some("example.org"), &["vip"]),
        (Some("renamed"), &[]),
        (Some("an"), &[]),
        (Some("nobody at all"), &[]),
    ];
    for (q, tags) in queries {
        let want = scanned(trees, q, tags);
        for limit in [1, 4, 50] {
            assert_eq!(
                listed(trees, q, tags, limit),
                want,
                "{when}: q={q:?} tags={tags:?} limit={limit}"
            );
        }
    }
}

#[test]
fn tag_and_name_lists_equal_a_full_scan_across_pages_and_after_every_kind_of_write() {
    let (_d, trees) = store();
    import(&trees, &csv(0, 40, ""));
    assert_lists_match_a_scan(&trees, "after the import");
    assert!(!scanned(&trees, None, &["vip", "booked", "lead"]).is_empty());

    let ctx = ChangeCtx::api(10);
    for c in all(&trees).iter().step_by(3) {
        trees
            .transaction(|tx| remove_tags(tx, c, &tags(&["vip", "Lead"]), &ctx))
            .unwrap();
    }
    for c in all(&trees).iter().step_by(4) {
        trees
            .merge_patch(
                &c.id,
                &json!({"first_name": "Renamed", "last_name": null}),
                "US",
                &ctx,
            )
            .unwrap();
    }
    for c in all(&trees).iter().step_by(7) {
        trees.delete(&c.id).unwrap();
    }
    let made = make(&trees, Some("new.ann.lee@example.org"), None);
    trees
        .transaction(|tx| add_tags(tx, &made, &tags(&["VIP"]), &ctx))
        .unwrap();
    // Updates rows already there (tags added, names changed) and creates rows 40..50.
    import(&trees, &csv(30, 50, "Imported").replace(",Ann,", ",Anna,"));
    assert!(!scanned(&trees, Some("renamed"), &[]).is_empty());
    assert_lists_match_a_scan(
        &trees,
        "after removing tags, renames, deletes and an import",
    );

    trees.clear().unwrap();
    assert!(
        listed(&trees, None, &["vip"], 50).is_empty(),
        "a reset empties the lists"
    );
    assert!(listed(&trees, Some("ann"), &[], 50).is_empty());
    import(&trees, &csv(0, 12, ""));
    assert_lists_match_a_scan(&trees, "after a reset and a new import");
}

#[test]
fn an_exact_email_or_phone_query_reads_its_index_not_a_substring() {
    let (_d, trees) = store();
    let jo = make(&trees, Some("jo@example.com"), Some("4155550132"));
    make(&trees, Some("bojo@example.com"), None);
    let q = |q: &str| listed(&trees, Some(q), &[], 50);
    assert_eq!(
        q("JO@example.com"),
        vec![jo.id.clone()],
        "a whole email is that email only"
    );
    assert_eq!(q("+1 415 555 0132"), vec![jo.id.clone()]);
    assert_eq!(q("jo@example").len(), 2, "not a whole email: a substring");
}

#[test]
fn a_store_without_the_index_builds_it_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let trees = ContactTrees::open(&db).unwrap();
    import(&trees, &csv(0, 30, ""));
    let want_vip = scanned(&trees, None, &["vip"]);
    let want_ann = scanned(&trees, Some("ann"), &[]);
    assert!(!want_vip.is_empty() && !want_ann.is_empty());
    drop(trees);
    // A data dir from before the index has no such tree.
    db.drop_tree(super::super::index::TREE).unwrap();
    let reopened = ContactTrees::open(&db).unwrap();
    assert_eq!(listed(&reopened, None, &["vip"], 7), want_vip);
    assert_eq!(listed(&reopened, Some("ann"), &[], 7), want_ann);
}

#[test]
fn a_tag_or_name_list_reads_only_the_contacts_it_serves() {
    let (_d, trees) = store();
    import(&trees, &csv(0, 10, ""));
    let want_vip = scanned(&trees, None, &["vip"]);
    let want_ann = scanned(&trees, Some("ann"), &[]);
    // A newer contact record that does not decode: a scan of the contacts would stop on it.
    let (contacts, ..) = trees.trees();
    contacts
        .insert(crate::domain::ids::new_ulid(), &b"{not json"[..])
        .unwrap();
    assert_eq!(listed(&trees, None, &["vip"], 2), want_vip);
    assert_eq!(listed(&trees, Some("ann"), &[], 2), want_ann);
    assert!(trees.list(&ContactQuery::default(), "US").is_err());
}

#[test]
fn a_name_search_finds_a_first_or_last_name_alone_through_the_full_name_it_stores() {
    // Names with spaces around them (trimmed when written), a final sigma, an empty half.
    let (_d, trees) = store();
    let names = [
        ("  Ann ", " Lee"),
        ("ΟΔΥΣΣΕΑΣ", "Σμιθ"),
        ("", "Ånström"),
        ("Joanna", ""),
        ("Bob\t", "\tSmith "),
    ];
    let ctx = ChangeCtx::api(10);
    for (i, (first, last)) in names.iter().enumerate() {
        let c = make(&trees, Some(&format!("n{i}@example.com")), None);
        let patch = json!({"first_name": first, "last_name": last});
        trees.merge_patch(&c.id, &patch, "US", &ctx).unwrap();
    }
    let stored = super::super::index::searched_texts(&all(&trees)[0]);
    assert_eq!(stored.len(), 2, "the full name and the email: {stored:?}");
    trees.pack().unwrap();
    for q in [
        "ann",
        "ann ",
        " lee",
        "ann lee",
        "οδυσσεας",
        "σμιθ",
        "ας σμ",
        "ånström",
        "joanna",
        "bob",
        "smith",
        "bob smith",
        "n3@",
    ] {
        assert_eq!(
            listed(&trees, Some(q), &[], 2),
            scanned(&trees, Some(q.trim()), &[]),
            "q={q:?}"
        );
    }
    assert_eq!(listed(&trees, Some("σμιθ"), &[], 50).len(), 1);
    assert_eq!(listed(&trees, Some(" Bob Smith"), &[], 50).len(), 1);
}
