//! Reads for the admin API outside any transaction: one contact, a filtered page, a timeline.

use super::name_scan::{self, NameScan};
use super::tx::decode_contact;
use super::{index, packed, timeline, ContactError, ContactTrees};
use crate::domain::contact::{Contact, Email, Phone, TimelineEntry};
use crate::store::posting::Intersection;

/// The largest page the API serves.
const MAX_LIMIT: usize = 1000;

/// `GET /api/contacts` filters and paging.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// Case-insensitive substring of first, last or full name or email; or, when it parses as a
    /// phone, that exact E.164 phone.
    pub q: Option<String>,
    /// Tags the contact must all have (case-insensitive).
    pub tags: Vec<String>,
    /// Page size, clamped to 1..=1000.
    pub limit: usize,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ContactTrees {
    /// The contact with this id, if any.
    pub fn get(&self, id: &str) -> Result<Option<Contact>, ContactError> {
        match self.contacts.get(id.as_bytes())? {
            Some(bytes) => Ok(Some(decode_contact(id, &bytes)?)),
            None => Ok(None),
        }
    }

    /// One page of matching contacts, newest first, and the cursor of the next page if any.
    ///
    /// Where the candidates come from: an exact email or phone `q` reads its index; tags walk
    /// their posting lists together; a name `q` alone walks the compact search entries; no
    /// filter walks the contacts ([`index`]). Every candidate is checked against the whole
    /// filter before it is served.
    pub fn list(
        &self,
        query: &ContactQuery,
        default_region: &str,
    ) -> Result<(Vec<Contact>, Option<String>), ContactError> {
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let filter = Filter::new(query, default_region);
        // Contact ids are ULIDs: reverse key order is newest first, and the cursor is the last
        // id served, so the next page is everything below it.
        let cursor = query.cursor.as_deref();
        let mut page = Vec::new();
        for contact in self.candidates(&filter, cursor)? {
            let contact = contact?;
            if !filter.matches(&contact) {
                continue;
            }
            if page.len() == limit {
                let next = page.last().map(|c: &Contact| c.id.clone());
                return Ok((page, next));
            }
            page.push(contact);
        }
        Ok((page, None))
    }

    /// The contacts that may match `filter`, newest first, below `cursor`.
    fn candidates<'a>(
        &'a self,
        filter: &'a Filter,
        cursor: Option<&str>,
    ) -> Result<Candidates<'a>, ContactError> {
        if let Some(exact) = &filter.exact {
            let mut found = match exact {
                Exact::Email(email) => self.read(|tx| tx.by_email(email))?.into_iter().collect(),
                Exact::Phone(phone) => self.read(|tx| tx.by_phone(phone))?,
            };
            found.retain(|c| cursor.is_none_or(|cursor| c.id.as_str() < cursor));
            found.sort_by(|a, b| b.id.cmp(&a.id));
            return Ok(Box::new(found.into_iter().map(Ok)));
        }
        if filter.tags.is_empty() && filter.text.is_none() {
            let iter = match cursor {
                Some(cursor) => self.contacts.range(..cursor.as_bytes().to_vec()),
                None => self.contacts.iter(),
            };
            return Ok(Box::new(iter.rev().map(|item| {
                let (key, bytes) = item?;
                decode_contact(&String::from_utf8_lossy(&key), &bytes)
            })));
        }
        // A cursor is an id this list handed out, so a ULID; anything else finds nothing.
        let below = match cursor.map(index::id_bytes) {
            Some(None) => return Ok(Box::new(std::iter::empty())),
            Some(Some(bytes)) => Some(bytes),
            None => None,
        };
        let ids: Box<dyn Iterator<Item = sled::Result<Vec<u8>>> + 'a> = match &filter.finder {
            // A name alone: the search texts, newest first, that hold it.
            Some(finder) if filter.tags.is_empty() => {
                Box::new(NameScan::new(&self.index, finder, below))
            }
            _ => {
                let lists = filter.tags.iter().map(|t| index::tag_prefix(t)).collect();
                let ids = Intersection::new(&self.index, lists, below.map(|b| b.to_vec()));
                // With a name too, its search texts decide before the contact is read.
                Box::new(ids.filter(move |id| match (id, &filter.text) {
                    (Ok(id), Some(_)) => match packed::texts_of(&self.index, id) {
                        Ok(texts) => texts.is_some_and(|t| filter.finds(&t)),
                        Err(_) => true,
                    },
                    _ => true,
                }))
            }
        };
        Ok(Box::new(ids.filter_map(move |id| {
            let id = match id {
                Ok(id) => id,
                Err(e) => return Some(Err(e.into())),
            };
            self.get(&index::id_text(&id)?).transpose()
        })))
    }

    /// Every contact matching `query`'s `q` and `tags` (paging ignored), oldest first, read
    /// lazily from sled: exports walk millions of contacts without holding them.
    pub fn matching<'a>(
        &'a self,
        query: &ContactQuery,
        default_region: &str,
    ) -> impl Iterator<Item = Result<Contact, ContactError>> + 'a {
        let filter = Filter::new(query, default_region);
        self.contacts
            .iter()
            .map(|item| {
                let (key, bytes) = item?;
                decode_contact(&String::from_utf8_lossy(&key), &bytes)
            })
            .filter(move |c| c.as_ref().map_or(true, |c| filter.matches(c)))
    }

    /// The contacts a person means by `key`: an id, an email or a phone (several contacts may
    /// share a phone). Empty when none matches.
    pub fn resolve(&self, key: &str, default_region: &str) -> Result<Vec<Contact>, ContactError> {
        let key = key.trim();
        if ulid::Ulid::from_string(key).is_ok() {
            return Ok(self.get(key)?.into_iter().collect());
        }
        if key.contains('@') {
            let email = Email::parse(key).map_err(ContactError::Invalid)?;
            return Ok(self.read(|tx| tx.by_email(&email))?.into_iter().collect());
        }
        match Phone::parse(key, default_region) {
            Ok(phone) => self.read(|tx| tx.by_phone(&phone)),
            Err(_) => Err(ContactError::Invalid(format!(
                "`{key}` is not a contact id, an email or a phone"
            ))),
        }
    }

    /// A contact's timeline, oldest first (empty for an unknown id): its keys in order, and
    /// each key's entries in the order they were made.
    pub fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, ContactError> {
        let mut entries = Vec::new();
        for item in self.timeline.scan_prefix(timeline::prefix(id)) {
            let (_, bytes) = item?;
            let stored = timeline::decode(&bytes).map_err(|e| {
                ContactError::Store(format!(
                    "timeline entry of {id}: corrupt record in timeline: {e}"
                ))
            })?;
            entries.extend(stored);
        }
        Ok(entries)
    }
}

/// A `q` that names one email or one phone: read from its index.
enum Exact {
    Email(Email),
    Phone(Phone),
}

/// Contacts read lazily, newest first.
type Candidates<'a> = Box<dyn Iterator<Item = Result<Contact, ContactError>> + 'a>;

/// A compiled `ContactQuery` filter.
struct Filter {
    text: Option<String>,
    finder: Option<memchr::memmem::Finder<'static>>,
    exact: Option<Exact>,
    tags: Vec<String>,
}

impl Filter {
    fn new(query: &ContactQuery, default_region: &str) -> Self {
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        // Only text made of phone characters counts as a phone: "Jo 42" must stay a name search.
        let phone = q
            .filter(|q| {
                q.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            })
            .and_then(|q| Phone::parse(q, default_region).ok());
        let email = q
            .filter(|q| q.contains('@'))
            .and_then(|q| Email::parse(q).ok());
        let text = q.map(str::to_lowercase);
        Self {
            finder: text
                .as_ref()
                .map(|t| memchr::memmem::Finder::new(t.as_bytes()).into_owned()),
            text,
            exact: phone.map(Exact::Phone).or(email.map(Exact::Email)),
            tags: query.tags.iter().map(|t| t.trim().to_lowercase()).collect(),
        }
    }

    /// True when a search entry's texts hold the name `q` (true without one).
    fn finds(&self, texts: &[u8]) -> bool {
        let Some(finder) = &self.finder else {
            return true;
        };
        name_scan::holds(finder, texts)
    }

    fn matches(&self, c: &Contact) -> bool {
        self.tags.iter().all(|t| c.has_tag(t)) && self.matches_text(c)
    }

    fn matches_text(&self, c: &Contact) -> bool {
        match &self.exact {
            Some(Exact::Phone(phone)) => return c.phone.as_ref() == Some(phone),
            Some(Exact::Email(email)) => return c.email.as_ref() == Some(email),
            None => {}
        }
        let Some(text) = &self.text else {
            return true;
        };
        index::searched_texts(c)
            .iter()
            .any(|field| field.contains(text.as_str()))
    }
}
