//! CSV import and export on a real sled database: hostile files, matching, lines, round trips.

use crate::store::contacts::tests::{all, store};
use crate::store::contacts::{ChangeCtx, ContactError, ContactQuery, ContactTrees, ImportReport};
use serde_json::json;

fn import(trees: &ContactTrees, csv: &str) -> ImportReport {
    trees
        .import_csv(csv.as_bytes(), "US", &ChangeCtx::import(5_000))
        .unwrap()
}

fn refused(trees: &ContactTrees, data: &[u8]) -> String {
    match trees.import_csv(data, "US", &ChangeCtx::import(5_000)) {
        Err(ContactError::Invalid(msg)) => msg,
        other => panic!("expected the file to be refused, got {other:?}"),
    }
}

fn export(trees: &ContactTrees, query: &ContactQuery) -> String {
    let columns = trees.export_columns(query, "US").unwrap();
    let mut out = Vec::new();
    trees.export_csv(query, "US", &columns, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn lines_and_reasons(notes: &[crate::store::contacts::RowNote]) -> Vec<(u64, String)> {
    notes.iter().map(|n| (n.line, n.reason.clone())).collect()
}

/// A CSV with a BOM, odd headers and rows a careless export produces (the API tests import
/// it too).
const HOSTILE: &str = include_str!("../../../../tests/data/hostile_contacts.csv");

#[test]
fn a_hostile_file_creates_updates_and_skips_each_bad_row_with_its_line() {
    let (_dir, trees) = store();
    let report = import(&trees, HOSTILE);
    assert_eq!((report.created, report.updated), (4, 2), "{report:?}");
    let skipped = lines_and_reasons(&report.skipped);
    let lines: Vec<u64> = skipped.iter().map(|(l, _)| *l).collect();
    // The first row spans lines 2-3, so every later line number is one more than its index.
    assert_eq!(lines, vec![4, 5, 10, 12], "{skipped:?}");
    assert!(skipped[0].1.contains("no email or phone"), "{skipped:?}");
    assert!(skipped[1].1.contains("invalid email"), "{skipped:?}");
    assert!(skipped[2].1.contains("invalid phone"), "{skipped:?}");
    assert!(
        skipped[3].1.contains("3 fields but the header has 8"),
        "{skipped:?}"
    );
    let warnings = lines_and_reasons(&report.warnings);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, 9);
    assert!(warnings[0].1.contains("+14155550132 was not copied"));

    let contacts = all(&trees);
    let emails: Vec<_> = contacts
        .iter()
        .map(|c| c.email.clone().unwrap().to_string())
        .collect();
    assert_eq!(emails, ["a@x.com", "b@x.com", "c@x.com", "e@x.com"]);
    let (a, b, c, e) = (&contacts[0], &contacts[1], &contacts[2], &contacts[3]);
    assert_eq!(a.last_name.as_deref(), Some("O\"Neil"));
    let a_tags: Vec<&str> = a.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        a_tags,
        ["vip", "Booked", "new"],
        "VIP is vip; tags are only added"
    );
    assert!(a.dnd);
    assert_eq!(a.custom["Plan"], json!("gold"));
    assert_eq!(a.custom["Notes"], json!("two\nlines"));
    assert_eq!(a.source.as_deref(), Some("import"));
    assert_eq!(
        b.first_name.as_deref(),
        Some("Bobby"),
        "line 8 matched Bob by phone"
    );
    let b_tags: Vec<&str> = b.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(b_tags, ["a", "b", "c"]);
    assert_eq!(b.phone.as_ref().unwrap().as_str(), "+14155550132");
    assert_eq!(c.phone, None, "Bob's phone is not copied onto Cy");
    assert_eq!(e.first_name.as_deref(), Some("Zoë"));
    assert_eq!(e.tags[0].as_str(), "日本");
    assert!(
        !emails.contains(&"d@x.com".to_string()),
        "a bad row changes nothing"
    );

    let timeline = trees.timeline(&a.id).unwrap();
    assert_eq!(timeline.len(), 2, "created, then tags added: {timeline:?}");
    assert!(timeline
        .iter()
        .all(|t| t.actor == crate::domain::contact::Actor::Import));
    assert_eq!(timeline[1].changes["tags_added"], json!(["new"]));
}

#[test]
fn a_row_with_a_bad_cell_leaves_its_contact_as_it_was() {
    let (_dir, trees) = store();
    import(&trees, "Email,First Name\nann@x.com,Ann\n");
    let report = import(
        &trees,
        "Email,First Name,DND,Created\nann@x.com,Anna,maybe,\nann@x.com,Anna,,yesterday\n",
    );
    assert_eq!(report.updated, 0);
    assert_eq!(report.skipped.len(), 2);
    assert!(report.skipped[0].reason.contains("DND \"maybe\""));
    assert!(report.skipped[1].reason.contains("RFC 3339"));
    let ann = &all(&trees)[0];
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    assert_eq!(trees.timeline(&ann.id).unwrap().len(), 1);
}

#[test]
fn empty_cells_leave_fields_and_tags_are_never_removed() {
    let (_dir, trees) = store();
    import(
        &trees,
        "Email,First Name,Last Name,Tags,Plan\nann@x.com,Ann,Lee,a;b,gold\n",
    );
    let report = import(
        &trees,
        "email,first name,last name,tags,Plan\nann@x.com,, ,c,\n",
    );
    assert_eq!(report.updated, 1);
    let ann = &all(&trees)[0];
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    assert_eq!(ann.last_name.as_deref(), Some("Lee"));
    let tags: Vec<&str> = ann.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["a", "b", "c"]);
    assert_eq!(ann.custom["Plan"], json!("gold"));
}

#[test]
fn a_malformed_file_is_refused_whole_and_changes_nothing() {
    let (_dir, trees) = store();
    let open_quote = "Email,First Name\nok@x.com,Ok\nbad@x.com,\"Unclosed\nmore@x.com,More\n";
    let msg = refused(&trees, open_quote.as_bytes());
    assert!(
        msg.contains("line 3") && msg.contains("never closed"),
        "{msg}"
    );
    let msg = refused(&trees, b"Email,First Name\nok@x.com,Jos\xe9\n");
    assert!(msg.contains("line 2") && msg.contains("UTF-8"), "{msg}");
    let msg = refused(&trees, b"First Name,Last Name\nAnn,Lee\n");
    assert!(msg.contains("neither an `Email` nor a `Phone`"), "{msg}");
    let msg = refused(&trees, b"Email,email\na@x.com,b@x.com\n");
    assert!(msg.contains("twice (columns 1 and 2)"), "{msg}");
    let msg = refused(&trees, b"\xEF\xBB\xBF \n");
    assert!(msg.contains("empty"), "{msg}");
    assert!(all(&trees).is_empty());
}

#[test]
fn rows_past_one_batch_match_rows_of_earlier_batches() {
    let (_dir, trees) = store();
    let mut csv = String::from("Email,Tags\n");
    for i in 0..1_200 {
        csv.push_str(&format!("p{}@x.com,t{}\n", i % 700, i));
    }
    let report = import(&trees, &csv);
    assert_eq!((report.created, report.updated), (700, 500));
    let p3 = trees.resolve("p3@x.com", "US").unwrap();
    let tags: Vec<&str> = p3[0].tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["t3", "t703"]);
}

#[test]
fn an_export_imported_into_an_empty_store_gives_back_the_same_contacts() {
    let (_dir, trees) = store();
    import(&trees, HOSTILE);
    let ann = all(&trees)[0].clone();
    let patch =
        json!({"custom": {"visits": 3, "address": {"city": "Oslo"}}, "timezone": "Europe/Oslo"});
    trees
        .merge_patch(&ann.id, &patch, "US", &ChangeCtx::api(6_000))
        .unwrap();
    let csv = export(&trees, &ContactQuery::default());
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "Contact Id,First Name,Last Name,Email,Phone,Tags,DND,Timezone,Source,Created,Notes,Plan,address,visits"
    );

    let (_dir2, fresh) = store();
    let report = import(&fresh, &csv);
    assert_eq!((report.created, report.updated), (4, 0), "{report:?}");
    assert!(
        report.skipped.is_empty() && report.warnings.is_empty(),
        "{report:?}"
    );
    let (before, after) = (all(&trees), all(&fresh));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        let mut a = a.clone();
        a.updated_at = b.updated_at;
        if b.id == ann.id {
            // Numbers and objects come back as their JSON text.
            assert_eq!(a.custom["visits"], json!("3"));
            assert_eq!(a.custom["address"], json!("{\"city\":\"Oslo\"}"));
            a.custom = b.custom.clone();
        }
        assert_eq!(&a, b);
    }

    // Importing the export over the same store changes nothing and writes no timeline entry.
    let entries = trees.timeline(&ann.id).unwrap().len();
    let report = import(&trees, &csv);
    assert_eq!((report.created, report.updated), (0, 4));
    assert_eq!(trees.timeline(&ann.id).unwrap().len(), entries);
}

#[test]
fn an_export_narrowed_by_tag_lists_only_those_contacts_and_their_fields() {
    let (_dir, trees) = store();
    import(
        &trees,
        "Email,Tags,Plan\na@x.com,vip,gold\nb@x.com,,silver\n",
    );
    import(&trees, "Email,Level\nc@x.com,3\n");
    let query = ContactQuery {
        tags: vec!["VIP".into()],
        ..ContactQuery::default()
    };
    let csv = export(&trees, &query);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].ends_with(",Created,Plan"), "{csv}");
    assert!(lines[1].contains(",a@x.com,,vip,false,,import,") && lines[1].ends_with(",gold"));
}

#[test]
fn a_row_refused_inside_its_batch_is_skipped_alone_and_the_others_are_applied() {
    let (_dir, trees) = store();
    // An email index entry whose contact is gone: the lookup misses, the insert then finds the
    // email claimed, and the batch's transaction aborts on that row.
    let (_, by_email, _, _, _) = trees.trees();
    by_email
        .insert("ghost@x.com", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .unwrap();
    let report = import(&trees, "Email\nann@x.com\nghost@x.com\nbob@x.com\n");
    assert_eq!(report.created, 2, "{report:?}");
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert_eq!(report.skipped[0].line, 3);
    assert!(
        report.skipped[0].reason.contains("already belongs"),
        "{report:?}"
    );
    let emails: Vec<String> = all(&trees)
        .iter()
        .map(|c| c.email.clone().unwrap().to_string())
        .collect();
    assert_eq!(emails, ["ann@x.com", "bob@x.com"]);
}

/// A new contact's email, phone and id are each read once: when the row is matched, not again
/// when the contact claims them (under sled's lock every read walks the tree; seven reads a
/// row before, three of them repeats, a tenth of the import's time). The fourth read is its
/// loose search entry, which a contact deleted long ago may have left.
#[test]
fn an_import_reads_each_new_contacts_keys_once() {
    use crate::store::txn::reads;
    let (_dir, trees) = store();
    let rows = 300u64;
    let mut csv = String::from("Contact Id,First Name,Email,Phone\n");
    for i in 0..rows {
        let id = ulid::Ulid::from_parts(1_700_000_000_000 + i, u128::from(i)).to_string();
        csv += &format!("{id},P{i},p{i}@example.com,+1212{:07}\n", 2_000_000 + i);
    }
    let before = reads::so_far();
    let report = import(&trees, &csv);
    let read = reads::so_far() - before;
    assert_eq!(report.created, rows, "{report:?}");
    assert!(
        read <= 4 * rows + 20,
        "{read} tree reads for {rows} new contacts: more than email, phone, id and search entry once each"
    );
    // The claims the import skipped reading still hold: a second import of the same file
    // matches every row, and no email or phone went to two contacts.
    let again = import(&trees, &csv);
    assert_eq!((again.created, again.updated), (0, rows), "{again:?}");
    assert!(again.warnings.is_empty(), "{again:?}");
}
