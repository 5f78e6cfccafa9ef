//! `find_contact`: match by email, then by phone when that is safe, else create.
//!
//! A phone is weak evidence (families share one), so it only matches when exactly one contact
//! holds it and no two different emails meet (payload vs holder), and it is never copied onto a
//! new contact when someone with another email holds it: one person must not get another's data.

use super::change::diff;
use super::{abort, ChangeCtx, ContactError, ContactTx, TxResult};
use crate::domain::contact::{Contact, Email, Phone};
use serde::Serialize;

/// The keys a `find_contact` step was given (null or empty ones already dropped).
#[derive(Debug, Clone, Default)]
pub struct FindInput {
    /// Matched first; unique.
    pub email: Option<Email>,
    /// Matched when no contact has the email.
    pub phone: Option<Phone>,
    /// Used only when a contact is created.
    pub first_name: Option<String>,
    /// Used only when a contact is created.
    pub last_name: Option<String>,
    /// Recorded as the new contact's `source` (e.g. the workflow id).
    pub source: Option<String>,
}

/// Which key found the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// The email index.
    Email,
    /// The phone index (single holder, compatible email).
    Phone,
}

/// What `find_contact` did.
#[derive(Debug, Clone, PartialEq)]
pub struct FindOutcome {
    /// The contact found or made; `None` on a miss without `create`.
    pub contact: Option<Contact>,
    /// Whether it was made just now.
    pub created: bool,
    /// How it was found (`None` when created or missed).
    pub matched_by: Option<MatchedBy>,
    /// Things the step output should show, e.g. a phone not copied.
    pub warnings: Vec<String>,
}

/// Finds (or with `create` makes) the contact for `input`, as DESIGN.md "find_contact" says.
/// Aborts with `Invalid` when neither an email nor a phone is given.
pub fn find_contact(
    tx: &ContactTx<'_>,
    input: &FindInput,
    create: bool,
    ctx: &ChangeCtx,
) -> TxResult<FindOutcome> {
    if input.email.is_none() && input.phone.is_none() {
        return abort(ContactError::Invalid(
            "find_contact needs an email or a phone; both are empty".into(),
        ));
    }
    let phone_taken = match lookup(tx, input.email.as_ref(), input.phone.as_ref())? {
        Lookup::Found(contact, by) => return Ok(found(*contact, by)),
        Lookup::Missed { phone_taken } => phone_taken,
    };
    if !create {
        return Ok(FindOutcome {
            contact: None,
            created: false,
            matched_by: None,
            warnings: vec![],
        });
    }
    let mut warnings = Vec::new();
    let mut contact = Contact::new(ctx.now);
    contact.email = input.email.clone();
    contact.first_name = input.first_name.clone();
    contact.last_name = input.last_name.clone();
    contact.source = input.source.clone();
    match &input.phone {
        Some(phone) if phone_taken => warnings.push(phone_not_copied(phone)),
        phone => contact.phone = phone.clone(),
    }
    let blank = Contact {
        id: contact.id.clone(),
        ..Contact::new(ctx.now)
    };
    tx.insert(&contact, &ctx.entry(diff(&blank, &contact)))?;
    Ok(FindOutcome {
        contact: Some(contact),
        created: true,
        matched_by: None,
        warnings,
    })
}

/// What the indexes say about an email and a phone, by `find_contact`'s rule.
pub(crate) enum Lookup {
    /// A contact matched, by this key.
    Found(Box<Contact>, MatchedBy),
    /// None matched; `phone_taken` when the phone must not be copied onto a new contact.
    Missed {
        /// A contact with another email holds the phone.
        phone_taken: bool,
    },
}

/// Looks a contact up by email, then by phone when that is safe (the matching half of
/// `find_contact`, shared with the CSV import).
pub(crate) fn lookup(
    tx: &ContactTx<'_>,
    email: Option<&Email>,
    phone: Option<&Phone>,
) -> TxResult<Lookup> {
    if let Some(email) = email {
        if let Some(contact) = tx.by_email(email)? {
            return Ok(Lookup::Found(Box::new(contact), MatchedBy::Email));
        }
    }
    let holders = match phone {
        Some(phone) => tx.by_phone(phone)?,
        None => Vec::new(),
    };
    // A phone alone is enough; a phone plus an email matches only a holder without an email
    // (the email index missed, so a holder with one has a different one).
    if let [only] = holders.as_slice() {
        if email.is_none() || only.email.is_none() {
            return Ok(Lookup::Found(Box::new(only.clone()), MatchedBy::Phone));
        }
    }
    Ok(Lookup::Missed {
        phone_taken: phone_taken(&holders, email, None),
    })
}

/// The copy rule: a phone must not go onto a contact with `email` while a contact other than
/// `except` holds it with a different email.
pub(crate) fn phone_taken(
    holders: &[Contact],
    email: Option<&Email>,
    except: Option<&str>,
) -> bool {
    holders
        .iter()
        .any(|h| Some(h.id.as_str()) != except && h.email.is_some() && h.email.as_ref() != email)
}

/// The warning given when the copy rule keeps a phone off a contact.
pub(crate) fn phone_not_copied(phone: &Phone) -> String {
    format!(
        "phone {phone} was not copied: another contact with a different email already has it \
         (shared family phone?)"
    )
}

fn found(contact: Contact, by: MatchedBy) -> FindOutcome {
    FindOutcome {
        contact: Some(contact),
        created: false,
        matched_by: Some(by),
        warnings: vec![],
    }
}
