//! Contact store tests, on a real sled database in a temporary directory.

mod api;
mod change;
mod import_ahead;
mod index;
mod matching;
mod packed;
mod props;
mod timeline;

use super::*;
use crate::domain::contact::{Contact, Email, Phone, Tag};

/// A fresh database; keep the `TempDir` alive as long as the trees.
pub(super) fn store() -> (tempfile::TempDir, ContactTrees) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    (dir, ContactTrees::open(&db).unwrap())
}

pub(super) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(super) fn phone(s: &str) -> Phone {
    Phone::parse(s, "US").unwrap()
}

pub(super) fn tags(list: &[&str]) -> Vec<Tag> {
    list.iter().map(|t| Tag::parse(t).unwrap()).collect()
}

pub(super) fn run_ctx() -> ChangeCtx {
    ChangeCtx {
        now: 1_000,
        run_id: Some("RUN1".into()),
        step: Some("[0]".into()),
        actor: Actor::Run,
    }
}

/// Runs `find_contact` with `create` in its own transaction.
pub(super) fn find(
    trees: &ContactTrees,
    email: Option<&str>,
    ph: Option<&str>,
    create: bool,
) -> FindOutcome {
    let input = FindInput {
        email: email.map(self::email),
        phone: ph.map(self::phone),
        ..FindInput::default()
    };
    trees
        .transaction(|tx| find_contact(tx, &input, create, &run_ctx()))
        .unwrap()
}

/// Creates a contact with the given email and phone, returning it.
pub(super) fn make(trees: &ContactTrees, email: Option<&str>, ph: Option<&str>) -> Contact {
    let out = find(trees, email, ph, true);
    assert!(out.created, "expected a new contact for {email:?} {ph:?}");
    // ULIDs made in the same millisecond have no order; lists are newest first.
    std::thread::sleep(std::time::Duration::from_millis(2));
    out.contact.unwrap()
}

/// The email index as (email, id) pairs.
pub(super) fn email_index(trees: &ContactTrees) -> Vec<(String, String)> {
    let (_, by_email, _, _, _) = trees.trees();
    by_email
        .iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect()
}

/// Every contact, oldest first.
pub(super) fn all(trees: &ContactTrees) -> Vec<Contact> {
    let q = ContactQuery {
        limit: 1000,
        ..ContactQuery::default()
    };
    let mut v = trees.list(&q, "US").unwrap().0;
    v.reverse();
    v
}
