//! Random sequences of operations must leave every index (email, phone, tags and name
//! search entries) agreeing with the contacts.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

const EMAILS: [&str; 3] = ["a@example.com", "b@example.com", "c@example.com"];
const PHONES: [&str; 3] = ["4155550132", "4155550133", "4155550134"];
const NAMES: [&str; 3] = ["Ann", "Joanna Smith", "Zoë"];

#[derive(Debug, Clone)]
enum Op {
    Find {
        email: Option<usize>,
        phone: Option<usize>,
    },
    SetEmail {
        who: usize,
        email: Option<usize>,
    },
    SetPhone {
        who: usize,
        phone: Option<usize>,
    },
    Tag {
        who: usize,
    },
    Untag {
        who: usize,
    },
    Rename {
        who: usize,
        name: usize,
    },
    Import {
        email: usize,
        name: usize,
    },
    Delete {
        who: usize,
    },
    Pack,
}

fn op() -> impl Strategy<Value = Op> {
    let pick = || proptest::option::of(0..3usize);
    prop_oneof![
        (pick(), pick()).prop_map(|(email, phone)| Op::Find { email, phone }),
        (0..8usize, pick()).prop_map(|(who, email)| Op::SetEmail { who, email }),
        (0..8usize, pick()).prop_map(|(who, phone)| Op::SetPhone { who, phone }),
        (0..8usize).prop_map(|who| Op::Tag { who }),
        (0..8usize).prop_map(|who| Op::Untag { who }),
        (0..8usize, 0..3usize).prop_map(|(who, name)| Op::Rename { who, name }),
        (0..3usize, 0..3usize).prop_map(|(email, name)| Op::Import { email, name }),
        (0..8usize).prop_map(|who| Op::Delete { who }),
        Just(Op::Pack),
    ]
}

fn apply(trees: &ContactTrees, op: &Op) {
    let contacts = all(trees);
    let nth = |who: usize| contacts.get(who % contacts.len().max(1)).cloned();
    let ctx = ChangeCtx::api(7);
    // Clashes and misses are expected outcomes here; only the indexes are under test.
    let _ = match op {
        Op::Find { email, phone } => {
            let input = FindInput {
                email: email.map(|i| self::email(EMAILS[i])),
                phone: phone.map(|i| self::phone(PHONES[i])),
                ..FindInput::default()
            };
            trees
                .transaction(|tx| find_contact(tx, &input, true, &run_ctx()))
                .map(drop)
        }
        Op::SetEmail { who, email } => match nth(*who) {
            Some(c) => {
                let value = email.map(|i| EMAILS[i]);
                trees
                    .merge_patch(&c.id, &serde_json::json!({ "email": value }), "US", &ctx)
                    .map(drop)
            }
            None => Ok(()),
        },
        Op::SetPhone { who, phone } => match nth(*who) {
            Some(c) => {
                let update = ContactUpdate {
                    phone: phone.map(|i| self::phone(PHONES[i])),
                    ..Default::default()
                };
                let cleared = phone.is_none();
                trees.transaction(|tx| {
                    let current = tx.get(&c.id)?.ok_or(ContactError::NotFound)?;
                    if cleared {
                        let after = Contact {
                            phone: None,
                            ..current.clone()
                        };
                        return super::super::change::commit(tx, &current, after, &ctx).map(drop);
                    }
                    apply_update(tx, &current, &update, &ctx).map(drop)
                })
            }
            None => Ok(()),
        },
        Op::Tag { who } => match nth(*who) {
            Some(c) => trees
                .transaction(|tx| add_tags(tx, &c, &tags(&["T"]), &ctx))
                .map(drop),
            None => Ok(()),
        },
        Op::Untag { who } => match nth(*who) {
            Some(c) => trees
                .transaction(|tx| remove_tags(tx, &c, &tags(&["t"]), &ctx))
                .map(drop),
            None => Ok(()),
        },
        Op::Rename { who, name } => match nth(*who) {
            Some(c) => trees
                .merge_patch(
                    &c.id,
                    &serde_json::json!({ "first_name": NAMES[*name] }),
                    "US",
                    &ctx,
                )
                .map(drop),
            None => Ok(()),
        },
        Op::Import { email, name } => {
            let csv = format!(
                "Email,First Name,Tags\n{},{},Imported\n",
                EMAILS[*email], NAMES[*name]
            );
            trees
                .import_csv(csv.as_bytes(), "US", &ChangeCtx::import(7))
                .map(drop)
        }
        Op::Delete { who } => match nth(*who) {
            Some(c) => trees.delete(&c.id).map(drop),
            None => Ok(()),
        },
        Op::Pack => trees.pack().map(drop),
    };
}

fn check_indexes(trees: &ContactTrees) -> Result<(), TestCaseError> {
    let contacts = all(trees);
    let want: BTreeSet<(String, String)> = contacts
        .iter()
        .filter_map(|c| c.email.as_ref().map(|e| (e.to_string(), c.id.clone())))
        .collect();
    let have: BTreeSet<(String, String)> = email_index(trees).into_iter().collect();
    prop_assert_eq!(have, want);
    for p in PHONES {
        let p = phone(p);
        let want: BTreeSet<String> = contacts
            .iter()
            .filter(|c| c.phone.as_ref() == Some(&p))
            .map(|c| c.id.clone())
            .collect();
        // The raw index, so a stale id cannot hide behind a failed lookup.
        let (_, _, by_phone, _, _) = trees.trees();
        let have: BTreeSet<String> = match by_phone.get(p.as_str()).unwrap() {
            Some(ids) => serde_json::from_slice(&ids).unwrap(),
            None => BTreeSet::new(),
        };
        prop_assert_eq!(have, want);
    }
    // The tag lists hold exactly the tags of the contacts there are.
    let want: BTreeSet<Vec<u8>> = contacts
        .iter()
        .flat_map(super::super::index::entries)
        .map(|(key, _)| key)
        .collect();
    let (_, _, _, _, index) = trees.trees();
    let have: BTreeSet<Vec<u8>> = index
        .scan_prefix(b"t")
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    prop_assert_eq!(have, want);
    let version = index.get(b"v").unwrap();
    prop_assert_eq!(version.as_deref(), Some(&b"3"[..]));
    // Blocks and loose entries together say exactly each contact's texts, and every block is
    // well formed.
    prop_assert_eq!(
        super::packed::search_view(trees),
        super::packed::texts(&contacts)
    );
    super::packed::check_blocks(trees, SMALL_BLOCK);
    // And a name list gives what a scan gives.
    for q in ["ann", "a", "smith", "example"] {
        let want: Vec<String> = contacts
            .iter()
            .rev()
            .filter(|c| {
                super::super::index::searched_texts(c)
                    .iter()
                    .any(|t| t.contains(q))
            })
            .map(|c| c.id.clone())
            .collect();
        prop_assert_eq!(super::index::listed(trees, Some(q), &[], 2), want);
    }
    Ok(())
}

/// Blocks of two or three contacts, so that packs split and merge them.
const SMALL_BLOCK: usize = 200;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn indexes_always_agree_with_the_contacts(ops in proptest::collection::vec(op(), 1..25)) {
        let (_d, trees) = store();
        let trees = trees.with_block_bytes(SMALL_BLOCK);
        for op in &ops {
            apply(&trees, op);
            check_indexes(&trees)?;
        }
    }
}
