//! Contact reads and writes inside a sled transaction, keeping both indexes in step.
//!
//! A transaction's view of a tree ([`TxTree`]) cannot scan ranges, so every lookup here is a point read:
//! `contacts_by_phone` maps a phone to a JSON list of contact ids (read-modify-write), and the
//! timeline key `id ++ 0x00 ++ ulid` is only ever written here (scans happen outside; one key
//! per contact per transaction, see [`super::timeline`]). The tag and search entries of
//! `contacts_index` (see [`super::index`]) change with every write.

use super::block::Record;
use super::packed::{self, Layout};
use super::{abort, index, timeline, ContactError};
use crate::domain::contact::{Contact, Email, Phone, TimelineEntry};
use crate::store::codec;
use crate::store::txn::{Encode, TxTree};
use sled::transaction::ConflictableTransactionError;
use sled::IVec;
use std::cell::RefCell;
use std::collections::HashMap;

/// The result of a transactional contact operation; `Abort` carries a [`ContactError`].
pub type TxResult<T> = Result<T, ConflictableTransactionError<ContactError>>;

/// The contact trees as seen from inside one transaction.
pub struct ContactTx<'a> {
    contacts: &'a TxTree<'a>,
    /// Contacts as this transaction last read or wrote them, decoded: a batch of steps reads the
    /// same contact at every step, and decoding it each time cost more than the step's own work.
    /// Every write of the contacts tree goes through `put` and `delete`, which keep it current.
    decoded: RefCell<HashMap<String, Option<Contact>>>,
    by_email: &'a TxTree<'a>,
    /// Each email's owner and each phone's holders as this transaction last read or wrote
    /// them: a new contact's keys are read when it is looked up and again when it claims them,
    /// and under sled's lock (an import) each read walks the tree again.
    owners: RefCell<HashMap<String, Option<IVec>>>,
    holders: RefCell<HashMap<String, Vec<String>>>,
    by_phone: &'a TxTree<'a>,
    timeline: &'a TxTree<'a>,
    /// The timeline key this transaction made for each contact it changed, and what it holds:
    /// the transaction's later entries for that contact join the same key.
    appended: RefCell<HashMap<String, Appended>>,
    index: &'a TxTree<'a>,
    /// Where a new contact's search texts wait to go straight into their block (an import,
    /// see [`Self::placing_new_texts`]); `None`: they are written as a loose entry.
    fresh: Option<&'a RefCell<Vec<Record>>>,
}

impl<'a> ContactTx<'a> {
    /// Wraps the transactional views of the trees from [`super::ContactTrees::trees`], in order.
    pub fn new(
        contacts: &'a TxTree<'a>,
        by_email: &'a TxTree<'a>,
        by_phone: &'a TxTree<'a>,
        timeline: &'a TxTree<'a>,
        index: &'a TxTree<'a>,
    ) -> Self {
        Self {
            contacts,
            decoded: RefCell::default(),
            by_email,
            owners: RefCell::default(),
            holders: RefCell::default(),
            by_phone,
            timeline,
            appended: RefCell::default(),
            index,
            fresh: None,
        }
    }

    /// This transaction with new contacts' search texts kept in `fresh` rather than written
    /// as loose entries; [`Self::place_new_texts`] must write them before it commits.
    /// (Use the one returned only: it starts with its own cache of decoded contacts.)
    pub(crate) fn placing_new_texts(&self, fresh: &'a RefCell<Vec<Record>>) -> Self {
        Self {
            fresh: Some(fresh),
            ..Self::new(
                self.contacts,
                self.by_email,
                self.by_phone,
                self.timeline,
                self.index,
            )
        }
    }

    /// Writes the texts kept since [`Self::placing_new_texts`] into their blocks, given as
    /// `layout` (the caller holds the packing lock); returns the blocks after.
    pub(crate) fn place_new_texts(&self, layout: &Layout, max: usize) -> TxResult<Layout> {
        let fresh = self.fresh.map(|f| f.take()).unwrap_or_default();
        packed::place(self.index, fresh, layout, max)
    }

    /// Views of the five trees in `new`'s order (as [`super::ContactTrees`] opens them).
    pub(crate) fn of(views: &'a [TxTree<'a>]) -> Self {
        Self::new(&views[0], &views[1], &views[2], &views[3], &views[4])
    }

    /// The contact with this id, if any.
    pub fn get(&self, id: &str) -> TxResult<Option<Contact>> {
        remembered(&self.decoded, id, || {
            match self.contacts.get(id.as_bytes())? {
                Some(bytes) => Ok(Some(decode_contact(id, &bytes)?)),
                None => Ok(None),
            }
        })
    }

    /// The contact with this email, if any.
    pub fn by_email(&self, email: &Email) -> TxResult<Option<Contact>> {
        match self.owner(email)? {
            Some(id) => self.get(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// Every contact with this phone (a family may share one), oldest first.
    pub fn by_phone(&self, phone: &Phone) -> TxResult<Vec<Contact>> {
        let mut found = Vec::new();
        for id in self.phone_ids(phone)? {
            if let Some(c) = self.get(&id)? {
                found.push(c);
            }
        }
        Ok(found)
    }

    /// Stores a new contact with its first timeline entry.
    pub fn insert(&self, contact: &Contact, entry: &TimelineEntry) -> TxResult<()> {
        // Neither is encoded ahead: a later change in this transaction (a booking's update
        // and tag) replaces the contact and extends the entry, and only the last is encoded.
        self.add(contact, None)?;
        self.append(&contact.id, entry)
    }

    /// [`Self::insert`] with the contact and its entry already encoded (an import encodes
    /// rows on another thread, ahead of their transaction).
    pub(crate) fn insert_encoded(&self, contact: &Contact, encoded: &Encoded) -> TxResult<()> {
        self.add(contact, Some(&encoded.contact))?;
        self.append_encoded(&contact.id, &encoded.entry)
    }

    /// Stores a new contact (`bytes` its encoding, if made ahead) and its index entries,
    /// without its entry.
    fn add(&self, contact: &Contact, bytes: Option<&[u8]>) -> TxResult<()> {
        let known = self.decoded.borrow().get(&contact.id).map(Option::is_some);
        let taken = match known {
            Some(taken) => taken,
            None => self.contacts.get(contact.id.as_bytes())?.is_some(),
        };
        if taken {
            return abort(ContactError::Store(format!(
                "contact id {} already exists",
                contact.id
            )));
        }
        if let Some(email) = &contact.email {
            self.claim_email(email, &contact.id)?;
        }
        if let Some(phone) = &contact.phone {
            self.add_phone(phone, &contact.id)?;
        }
        self.reindex(None, Some(contact))?;
        match bytes {
            Some(bytes) => self.put_encoded(contact, bytes),
            None => self.put(contact),
        }
    }

    /// Replaces `before` (the stored version, read in this transaction) by `after` and appends
    /// `entry`. An email another contact has aborts with `EmailTaken`.
    pub fn update(&self, before: &Contact, after: &Contact, entry: &TimelineEntry) -> TxResult<()> {
        if before.id != after.id {
            return abort(ContactError::Invalid(format!(
                "cannot change a contact's id ({} to {})",
                before.id, after.id
            )));
        }
        let id = &after.id;
        if before.email != after.email {
            if let Some(email) = &after.email {
                self.claim_email(email, id)?;
            }
            if let Some(old) = &before.email {
                self.release_email(old, id)?;
            }
        }
        if before.phone != after.phone {
            if let Some(old) = &before.phone {
                self.remove_phone(old, id)?;
            }
            if let Some(phone) = &after.phone {
                self.add_phone(phone, id)?;
            }
        }
        self.reindex(Some(before), Some(after))?;
        self.put(after)?;
        self.append(id, entry)
    }

    /// Removes a contact and its index entries; returns it, or `None` when there was none.
    /// Its timeline stays: a transaction cannot scan it (`ContactTrees::delete` clears it after).
    pub fn delete(&self, id: &str) -> TxResult<Option<Contact>> {
        let Some(contact) = self.get(id)? else {
            return Ok(None);
        };
        if let Some(email) = &contact.email {
            self.release_email(email, id)?;
        }
        if let Some(phone) = &contact.phone {
            self.remove_phone(phone, id)?;
        }
        self.reindex(Some(&contact), None)?;
        self.contacts.remove(id.as_bytes())?;
        self.decoded.borrow_mut().insert(id.to_string(), None);
        Ok(Some(contact))
    }

    /// Updates the index; a contact made in this transaction while placing new texts keeps
    /// its texts in `fresh`, however often it changes before the commit.
    fn reindex(&self, before: Option<&Contact>, after: Option<&Contact>) -> TxResult<()> {
        let pending = self
            .fresh
            .zip(before.or(after).and_then(|c| index::id_bytes(&c.id)));
        if let Some((fresh, id)) = pending {
            let mut fresh = fresh.borrow_mut();
            // A new contact is not there yet: only a change of one looks.
            let at = before.and_then(|_| fresh.iter().position(|(have, _)| *have == id));
            if before.is_none() || at.is_some() {
                index::update_tags(self.index, before, after)?;
                match (at, after) {
                    (Some(i), Some(after)) => fresh[i].1 = index::texts(after),
                    (Some(i), None) => drop(fresh.swap_remove(i)),
                    (None, Some(after)) => fresh.push((id, index::texts(after))),
                    (None, None) => {}
                }
                return Ok(());
            }
        }
        Ok(index::update(self.index, before, after)?)
    }

    /// Writes `contact`, encoded at the commit (see [`TxTree::insert_with`]).
    fn put(&self, contact: &Contact) -> TxResult<()> {
        let stored = contact.clone();
        let encode = move || IVec::from(codec::encode(&stored));
        self.contacts
            .insert_with(contact.id.as_bytes(), Box::new(encode))?;
        self.decoded
            .borrow_mut()
            .insert(contact.id.clone(), Some(contact.clone()));
        Ok(())
    }

    fn put_encoded(&self, contact: &Contact, bytes: &[u8]) -> TxResult<()> {
        self.contacts.insert(contact.id.as_bytes(), bytes)?;
        self.decoded
            .borrow_mut()
            .insert(contact.id.clone(), Some(contact.clone()));
        Ok(())
    }

    fn append(&self, id: &str, entry: &TimelineEntry) -> TxResult<()> {
        let json = timeline::entry_json(id, entry)?;
        let mut appended = self.appended.borrow_mut();
        let Some(made) = appended.get_mut(id) else {
            let one = json.clone();
            let key = self.new_timeline_key(
                id,
                Box::new(move || timeline::encode_one(one.clone()).into()),
            )?;
            appended.insert(
                id.to_string(),
                Appended {
                    key,
                    json: Some(json),
                },
            );
            return Ok(());
        };
        // Not this transaction's first entry for the contact: the list grows under its key.
        let mut joined = match made.json.take() {
            Some(joined) => joined,
            None => self.stored_json(id, &made.key)?,
        };
        joined.push(b',');
        joined.extend_from_slice(&json);
        let list = joined.clone();
        self.timeline.insert_with(
            made.key.as_slice(),
            Box::new(move || timeline::encode_list(&list).into()),
        )?;
        made.json = Some(joined);
        Ok(())
    }

    /// Appends an entry encoded ahead (an import's first entry of a new contact, so this
    /// transaction's first for it): stored as it is, a single entry.
    fn append_encoded(&self, id: &str, bytes: &[u8]) -> TxResult<()> {
        if self.appended.borrow().contains_key(id) {
            let entry = timeline::decode(bytes)
                .map_err(|e| store_err(format!("timeline entry of {id}: {e}")))?;
            return entry.iter().try_for_each(|e| self.append(id, e));
        }
        let stored = IVec::from(bytes);
        let key = self.new_timeline_key(id, Box::new(move || stored.clone()))?;
        let made = Appended { key, json: None };
        self.appended.borrow_mut().insert(id.to_string(), made);
        Ok(())
    }

    /// Writes what `value` makes under a new key of `id`'s timeline and returns the key.
    fn new_timeline_key(&self, id: &str, value: Encode) -> TxResult<Vec<u8>> {
        // Monotonic, so keys made in the same millisecond keep their order.
        let key = timeline::key(id, &crate::domain::ids::new_ulid());
        self.timeline.insert_with(key.as_slice(), value)?;
        Ok(key)
    }

    /// The entries this transaction wrote under `key`, as JSON objects joined by commas.
    fn stored_json(&self, id: &str, key: &[u8]) -> TxResult<Vec<u8>> {
        let stored = self.timeline.get(key)?.ok_or_else(|| {
            store_err(format!(
                "timeline of {id}: this transaction's key went missing"
            ))
        })?;
        timeline::joined_json(&stored).map_err(|e| store_err(format!("timeline of {id}: {e}")))
    }

    /// The id of the contact that has `email`, if any.
    fn owner(&self, email: &Email) -> TxResult<Option<IVec>> {
        remembered(&self.owners, email.as_str(), || {
            Ok(self.by_email.get(email.as_str().as_bytes())?)
        })
    }

    fn set_owner(&self, email: &Email, owner: Option<&str>) -> TxResult<()> {
        let key = email.as_str().as_bytes();
        match owner {
            Some(id) => self.by_email.insert(key, id.as_bytes())?,
            None => self.by_email.remove(key)?,
        }
        self.owners
            .borrow_mut()
            .insert(email.as_str().to_string(), owner.map(IVec::from));
        Ok(())
    }

    fn claim_email(&self, email: &Email, id: &str) -> TxResult<()> {
        if let Some(owner) = self.owner(email)? {
            if owner.as_ref() != id.as_bytes() {
                return abort(ContactError::EmailTaken {
                    email: email.to_string(),
                    contact_id: String::from_utf8_lossy(&owner).into_owned(),
                });
            }
        }
        self.set_owner(email, Some(id))
    }

    fn release_email(&self, email: &Email, id: &str) -> TxResult<()> {
        // Only the owner's key goes: never drop another contact's claim.
        if self
            .owner(email)?
            .is_some_and(|owner| owner.as_ref() == id.as_bytes())
        {
            self.set_owner(email, None)?;
        }
        Ok(())
    }

    fn phone_ids(&self, phone: &Phone) -> TxResult<Vec<String>> {
        remembered(&self.holders, phone.as_str(), || {
            match self.by_phone.get(phone.as_str().as_bytes())? {
                Some(bytes) => codec::decode("contacts_by_phone", &bytes)
                    .map_err(|e| store_err(format!("phone index entry for {phone}: {e}"))),
                None => Ok(Vec::new()),
            }
        })
    }

    fn add_phone(&self, phone: &Phone, id: &str) -> TxResult<()> {
        let mut ids = self.phone_ids(phone)?;
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
        self.write_phone_ids(phone, &ids)
    }

    fn remove_phone(&self, phone: &Phone, id: &str) -> TxResult<()> {
        let mut ids = self.phone_ids(phone)?;
        ids.retain(|x| x != id);
        self.write_phone_ids(phone, &ids)
    }

    fn write_phone_ids(&self, phone: &Phone, ids: &[String]) -> TxResult<()> {
        let key = phone.as_str().as_bytes();
        if ids.is_empty() {
            self.by_phone.remove(key)?;
        } else {
            let json = serde_json::to_vec(ids)
                .map_err(|e| store_err(format!("phone index for {phone}: {e}")))?;
            self.by_phone.insert(key, json)?;
        }
        self.holders
            .borrow_mut()
            .insert(phone.as_str().to_string(), ids.to_vec());
        Ok(())
    }
}

/// `key`'s value in `memo`, made by `read` the first time it is asked for (the transaction's
/// writes keep the memos current).
fn remembered<T: Clone>(
    memo: &RefCell<HashMap<String, T>>,
    key: &str,
    read: impl FnOnce() -> TxResult<T>,
) -> TxResult<T> {
    if let Some(known) = memo.borrow().get(key) {
        return Ok(known.clone());
    }
    let value = read()?;
    memo.borrow_mut().insert(key.to_string(), value.clone());
    Ok(value)
}

/// A contact's timeline key made in this transaction.
struct Appended {
    key: Vec<u8>,
    /// The JSON objects of the entries under `key`, joined by commas; `None` for an entry that
    /// came encoded (read back from the stored value only if another entry joins it).
    json: Option<Vec<u8>>,
}

/// A new contact and its first timeline entry as they are stored (compressed JSON).
pub(crate) struct Encoded {
    contact: Vec<u8>,
    entry: Vec<u8>,
}

impl Encoded {
    /// Encodes `contact` and `entry` for [`ContactTx::insert_encoded`].
    pub(crate) fn new(contact: &Contact, entry: &TimelineEntry) -> Result<Self, ContactError> {
        Ok(Self {
            contact: codec::encode(contact),
            entry: timeline::encode_one(timeline::entry_json(&contact.id, entry)?),
        })
    }
}

/// Reads a stored contact; unreadable JSON is a store error naming the contact.
pub(crate) fn decode_contact(id: &str, bytes: &[u8]) -> Result<Contact, ContactError> {
    codec::decode("contacts", bytes).map_err(|e| ContactError::Store(format!("contact {id}: {e}")))
}

fn store_err(msg: String) -> ConflictableTransactionError<ContactError> {
    ConflictableTransactionError::Abort(ContactError::Store(msg))
}

impl From<ContactError> for ConflictableTransactionError<ContactError> {
    fn from(e: ContactError) -> Self {
        ConflictableTransactionError::Abort(e)
    }
}
