//! Packed search blocks: an import packs, lists read blocks and loose entries as one, blocks
//! split when they outgrow their size, an index of the one-entry-per-contact layout is rebuilt,
//! and a pack beside contact writes loses none of them.

use super::index::{assert_lists_match_a_scan, csv, import, listed, scanned};
use super::*;
use crate::store::contacts::block::{encode, Block, Record};
use crate::store::contacts::index::{entries, id_bytes, id_text, search_key, texts as texts_of};
use crate::store::contacts::packed::TOMBSTONE;
use serde_json::json;
use std::collections::BTreeMap;

/// Blocks of about five imported contacts.
const SMALL: usize = 300;

fn index(trees: &ContactTrees) -> &sled::Tree {
    trees.trees().4
}

/// The blocks in key order, as (key, records).
fn blocks(trees: &ContactTrees) -> Vec<(Vec<u8>, Vec<Record>)> {
    index(trees)
        .scan_prefix(b"p")
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.to_vec(), Block::parse(&v).expect("a block").records())
        })
        .collect()
}

fn loose(trees: &ContactTrees) -> usize {
    index(trees).scan_prefix(b"s").count()
}

/// Each contact's texts as the index says them: its block's record, overridden by a loose
/// entry (a tombstone: none).
pub(super) fn search_view(trees: &ContactTrees) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut view = BTreeMap::new();
    for (_, records) in blocks(trees) {
        for (id, texts) in records {
            assert!(
                view.insert(id.to_vec(), texts).is_none(),
                "an id in two blocks"
            );
        }
    }
    for kv in index(trees).scan_prefix(b"s") {
        let (k, v) = kv.unwrap();
        if v.as_ref() == TOMBSTONE {
            view.remove(&k[1..]);
        } else {
            view.insert(k[1..].to_vec(), v.to_vec());
        }
    }
    view
}

/// Each contact's texts as the contact says them.
pub(super) fn texts(contacts: &[Contact]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    contacts
        .iter()
        .map(|c| (id_bytes(&c.id).unwrap().to_vec(), texts_of(c)))
        .collect()
}

/// Every block is keyed by its first id, holds ids in order below the next block's, is not
/// empty, and is at most `max` bytes unless it holds one contact.
pub(super) fn check_blocks(trees: &ContactTrees, max: usize) {
    let blocks = blocks(trees);
    for (n, (key, records)) in blocks.iter().enumerate() {
        assert!(!records.is_empty(), "an empty block");
        assert_eq!(key[1..], records[0].0, "a block is keyed by its first id");
        assert!(records.windows(2).all(|w| w[0].0 < w[1].0), "ids in order");
        if let Some((next, _)) = blocks.get(n + 1) {
            assert!(records.last().unwrap().0[..] < next[1..], "blocks overlap");
        }
        assert!(
            records.len() == 1 || encode(records).len() <= max,
            "a block of {} bytes",
            encode(records).len()
        );
    }
}

fn check(trees: &ContactTrees, when: &str) {
    assert_eq!(search_view(trees), texts(&all(trees)), "{when}");
    check_blocks(trees, SMALL);
    assert_lists_match_a_scan(trees, when);
}

#[test]
fn an_import_packs_many_contacts_search_texts_into_each_index_value() {
    let (_d, trees) = store();
    import(&trees, &csv(0, 1000, ""));
    assert_eq!(loose(&trees), 0, "no entry per contact is left");
    let blocks = blocks(&trees).len();
    assert!(
        (2..=20).contains(&blocks),
        "1000 contacts in {blocks} blocks"
    );
    assert_eq!(search_view(&trees), texts(&all(&trees)));
    check_blocks(&trees, crate::store::contacts::packed::BLOCK_BYTES);
    assert_eq!(
        listed(&trees, Some("p777@"), &[], 50),
        scanned(&trees, Some("p777@"), &[])
    );
    assert_eq!(listed(&trees, Some("p777@"), &[], 50).len(), 1);
}

#[test]
fn name_pages_equal_a_full_filter_across_small_blocks_after_every_kind_of_write() {
    let (_d, trees) = store();
    let trees = trees.with_block_bytes(SMALL);
    import(&trees, &csv(0, 60, ""));
    assert!(blocks(&trees).len() >= 8, "small blocks: pages cross them");
    check(&trees, "after the import");

    let ctx = ChangeCtx::api(10);
    for c in all(&trees).iter().step_by(4) {
        let patch = json!({"first_name": "Renamed", "last_name": null});
        trees.merge_patch(&c.id, &patch, "US", &ctx).unwrap();
    }
    for c in all(&trees).iter().step_by(7) {
        trees.delete(&c.id).unwrap();
    }
    make(&trees, Some("new.ann.lee@example.org"), None);
    assert!(loose(&trees) > 0);
    check(&trees, "renames, deletes and a new contact not packed yet");
    trees.pack().unwrap();
    assert_eq!(loose(&trees), 0);
    check(&trees, "after a pack");

    // Updates rows already there (names changed) and creates rows 60..70.
    import(&trees, &csv(30, 70, "Imported").replace(",Ann,", ",Anna,"));
    check(&trees, "after a second import");
    // Emptying a block removes it.
    let (_, first) = blocks(&trees).remove(0);
    for (id, _) in &first {
        let id = id_text(id).unwrap();
        trees.delete(&id).unwrap();
    }
    trees.pack().unwrap();
    assert!(blocks(&trees).iter().all(|(k, _)| k[1..] != first[0].0));
    check(&trees, "after a block's contacts were deleted");
}

#[test]
fn a_block_that_outgrows_its_size_is_split_in_two_or_more() {
    let (_d, trees) = store();
    let trees = trees.with_block_bytes(SMALL);
    import(&trees, &csv(0, 30, ""));
    let before = blocks(&trees);
    // Longer names for every contact of the second block.
    let ctx = ChangeCtx::api(10);
    for (id, _) in &before[1].1 {
        let id = id_text(id).unwrap();
        let patch =
            json!({"first_name": "Bartholomew-Maximilian", "last_name": "Featherstonehaugh"});
        trees.merge_patch(&id, &patch, "US", &ctx).unwrap();
    }
    trees.pack().unwrap();
    let after = blocks(&trees);
    assert!(
        after.len() > before.len(),
        "{} → {}",
        before.len(),
        after.len()
    );
    assert_eq!(
        after[0], before[0],
        "a block with no change is not rewritten"
    );
    check(&trees, "after the split");
    assert_eq!(
        listed(&trees, Some("featherstone"), &[], 1).len(),
        before[1].1.len()
    );
}

#[test]
fn an_index_of_the_one_entry_per_contact_layout_is_rebuilt_in_blocks_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let trees = ContactTrees::open(&db).unwrap();
    import(&trees, &csv(0, 600, ""));
    let contacts = all(&trees);
    // Layout 2: the tag lists, one `s ++ id` entry per contact, the mark "2".
    let tree = index(&trees);
    tree.clear().unwrap();
    for c in &contacts {
        for (k, v) in entries(c) {
            tree.insert(k, v).unwrap();
        }
        tree.insert(search_key(&id_bytes(&c.id).unwrap()), texts_of(c))
            .unwrap();
    }
    tree.insert("v", "2").unwrap();
    let want_vip = scanned(&trees, None, &["vip"]);
    let want_ann = scanned(&trees, Some("ann"), &[]);
    drop(trees);

    let reopened = ContactTrees::open(&db).unwrap();
    assert_eq!(loose(&reopened), 0, "the entries became blocks");
    assert!(blocks(&reopened).len() >= 2);
    assert_eq!(
        index(&reopened).get("v").unwrap().as_deref(),
        Some(&b"3"[..])
    );
    assert_eq!(search_view(&reopened), texts(&contacts));
    check_blocks(&reopened, crate::store::contacts::packed::BLOCK_BYTES);
    assert_eq!(listed(&reopened, None, &["vip"], 7), want_vip);
    assert_eq!(listed(&reopened, Some("ann"), &[], 7), want_ann);
}

#[test]
fn a_pack_running_beside_contact_writes_loses_none_of_them() {
    let (_d, trees) = store();
    let trees = trees.with_block_bytes(SMALL);
    import(&trees, &csv(0, 40, ""));
    let ids: Vec<String> = all(&trees).into_iter().map(|c| c.id).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let ctx = ChangeCtx::api(10);
            for round in 0..10 {
                for (n, id) in ids.iter().enumerate() {
                    let patch = json!({"first_name": format!("Round{round}x{n}")});
                    trees.merge_patch(id, &patch, "US", &ctx).unwrap();
                }
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            trees.pack().unwrap();
        }
    });
    check(&trees, "after writes beside packs");
    trees.pack().unwrap();
    check(&trees, "after the last pack");
    assert_eq!(listed(&trees, Some("round9x"), &[], 50).len(), 40);
}

#[test]
fn a_deleted_contact_is_hidden_from_its_block_until_the_pack_drops_it() {
    let (_d, trees) = store();
    import(&trees, &csv(0, 10, ""));
    let gone = all(&trees).remove(3);
    trees.delete(&gone.id).unwrap();
    let key = search_key(&id_bytes(&gone.id).unwrap());
    assert_eq!(index(&trees).get(&key).unwrap().as_deref(), Some(TOMBSTONE));
    let email = gone.email.unwrap().to_string();
    assert!(listed(&trees, Some(&email), &[], 5).is_empty());
    trees.pack().unwrap();
    assert_eq!(index(&trees).get(&key).unwrap(), None);
    assert!(!search_view(&trees).contains_key(&key[1..]));
}

#[test]
fn an_import_places_returning_ids_in_their_own_blocks_and_a_deleted_id_beside_its_tombstone() {
    let (_d, trees) = store();
    let trees = trees.with_block_bytes(SMALL);
    import(&trees, &csv(0, 40, ""));
    let contacts = all(&trees);
    // Every third contact deleted; the first half of them packed away, the rest tombstones.
    let gone: Vec<&Contact> = contacts.iter().step_by(3).collect();
    for (n, c) in gone.iter().enumerate() {
        trees.delete(&c.id).unwrap();
        if n == gone.len() / 2 {
            trees.pack().unwrap();
        }
    }
    assert!(loose(&trees) > 0, "some tombstones wait for a pack");
    // They come back with their ids (as after an export), into blocks in the middle.
    let mut rows = String::from("Contact Id,Email,First Name,Last Name\n");
    for c in &gone {
        let email = c.email.as_ref().unwrap();
        rows += &format!(
            "{},{email},Returned,{}\n",
            c.id,
            c.last_name.clone().unwrap()
        );
    }
    import(&trees, &rows);
    let back: Vec<String> = gone.iter().rev().map(|c| c.id.clone()).collect();
    assert_eq!(listed(&trees, Some("returned"), &[], 3), back);
    check(&trees, "after the ids came back");
}

#[test]
fn a_contact_an_import_makes_and_a_later_row_renames_is_found_by_its_new_name() {
    let (_d, trees) = store();
    // Row 2 matches row 1's new contact by phone and renames it, in the same batch.
    import(
        &trees,
        "Email,Phone,First Name\nb@x.com,+1 415 555 0132,Bob\n,4155550132,Bobby\n",
    );
    let bob = all(&trees).remove(0);
    assert_eq!(bob.first_name.as_deref(), Some("Bobby"));
    assert_eq!(listed(&trees, Some("bobby"), &[], 5), vec![bob.id]);
    assert_eq!(search_view(&trees), texts(&all(&trees)));
}

#[test]
fn a_pack_keeps_a_fence_of_keys_between_the_blocks_and_the_loose_entries() {
    // sled splits leaves by count, not size: without more than a leaf's worth of keys between
    // them, the leaf of the newest 16 KiB blocks took every new loose entry and was rewritten
    // with it (disk_per_booking.py: 186 KB written a booking with no fence, 87 KB with it).
    let (_d, trees) = store();
    import(&trees, &csv(0, 300, ""));
    make(&trees, Some("new@example.com"), None);
    trees.pack().unwrap();
    let tree = index(&trees);
    let last_block = tree.scan_prefix(b"p").next_back().unwrap().unwrap().0;
    let fence = tree
        .range(last_block.to_vec()..b"s".to_vec())
        .skip(1)
        .count();
    assert!(
        fence > 16,
        "{fence} keys between the last block and the loose entries"
    );
    assert_eq!(
        search_view(&trees),
        texts(&all(&trees)),
        "the fence is no contact's text"
    );
    assert_eq!(listed(&trees, Some("new@"), &[], 50).len(), 1);
}
