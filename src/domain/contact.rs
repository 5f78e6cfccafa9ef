//! The contact model: validated `Email`, `Phone` and `Tag` values, the stored `Contact`, its
//! sequence enrolments and its timeline. Matching and indexes rely on these values being
//! normalised, so `parse` is the only way to make one (deserialising goes through it too).

mod record;

pub use record::{Actor, Contact, Enrolment, EnrolmentState, TimelineEntry};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
const MAX_EMAIL_LEN: usize = 254;
/// Tags are labels, not notes; GHL caps them similarly.
const MAX_TAG_LEN: usize = 100;

/// An email address: trimmed, lowercased and checked for the shape `local@domain.tld`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Normalises (trim, lowercase) and validates an address; the error says what is wrong.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim().to_lowercase();
        let bad = |why: &str| Err(format!("invalid email {:?}: {why}", input.trim()));
        if s.is_empty() {
            return bad("it is empty");
        }
        if s.len() > MAX_EMAIL_LEN {
            return bad("it is longer than 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("it contains spaces or control characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("it has no '@'");
        };
        if domain.contains('@') {
            return bad("it has more than one '@'");
        }
        if local.is_empty() {
            return bad("nothing comes before the '@'");
        }
        if !domain.contains('.') {
            return bad("the domain after '@' has no dot (expected e.g. example.com)");
        }
        if domain.split('.').any(str::is_empty) {
            return bad("the domain has an empty part (a leading, trailing or double dot)");
        }
        Ok(Self(s))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A number as written, its default region, and what [`Phone::parse`] answered.
type Parsed = (String, String, Result<Phone, String>);

thread_local! {
    /// The last number [`Phone::parse`] read on this thread: a booking's `find_contact` and
    /// `update_contact` read the same number one after the other, and the numbering plan's
    /// patterns took 3 % of the run worker's time each time.
    static LAST_PARSED: std::cell::RefCell<Option<Parsed>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    static PLAN_PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A phone number in E.164 form (`+14155550132`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a number as people write it; `default_region` (ISO code such as `"US"`) applies
    /// when the number has no `+country` prefix. Invalid numbers are errors with the reason.
    pub fn parse(input: &str, default_region: &str) -> Result<Self, String> {
        LAST_PARSED.with(|last| {
            if let Some((i, r, answer)) = &*last.borrow() {
                if i == input && r == default_region {
                    return answer.clone();
                }
            }
            let answer = Self::parse_with_plan(input, default_region);
            *last.borrow_mut() = Some((input.into(), default_region.into(), answer.clone()));
            answer
        })
    }

    /// [`Phone::parse`] against the numbering plan.
    fn parse_with_plan(input: &str, default_region: &str) -> Result<Self, String> {
        #[cfg(test)]
        PLAN_PARSES.with(|n| n.set(n.get() + 1));
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("invalid phone \"\": it is empty".into());
        }
        let region: phonenumber::country::Id = default_region.parse().map_err(|_| {
            format!(
                "unknown default region {default_region:?}: use an ISO 3166 code such as \"US\""
            )
        })?;
        let number = phonenumber::parse(Some(region), trimmed)
            .map_err(|e| format!("invalid phone {trimmed:?}: {e}"))?;
        if !number.is_valid() {
            return Err(format!(
                "invalid phone {trimmed:?}: not a valid number for its country \
                 (numbers without a +country prefix are read as {default_region})"
            ));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Loads the numbering plan on a thread of its own and returns that thread. The
    /// `phonenumber` crate decodes its whole database the first time any number is parsed
    /// (150–230 ms on the 2-core machine) and compiles a region's patterns as it first checks
    /// one: started before the store opens, this keeps that wait out of the first request or
    /// run that reads a phone after a start. `default_region`'s example numbers are parsed so
    /// that its patterns are ready too.
    pub fn load_numbering_plan(
        default_region: &str,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let region = default_region.to_owned();
        std::thread::Builder::new()
            .name("phone-plan".into())
            .spawn(move || {
                let plan = &*phonenumber::metadata::DATABASE;
                let examples: Vec<String> = plan
                    .by_id(region.as_str())
                    .map(|m| {
                        let types = m.descriptors();
                        [types.fixed_line(), types.mobile()]
                            .into_iter()
                            .flatten()
                            .filter_map(|d| d.example())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                for number in examples {
                    let _ = Self::parse(&number, &region);
                }
            })
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A phone read back from the store: [`Phone::parse`] wrote it, so it is only checked to
    /// be E.164 (`+`, then up to 15 digits, the first not 0). Parsing it again against the
    /// numbering plan cost more than the rest of reading a contact (5 % of a booking's CPU).
    fn stored(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix('+').unwrap_or("");
        let e164 = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if e164 {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("stored phone {s:?} is not in E.164 form"))
        }
    }
}

/// A tag as first written; two tags are the same tag when their `key()`s are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// Trims and validates a tag: non-empty, at most 100 characters.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("invalid tag: it is empty".into());
        }
        if s.chars().count() > MAX_TAG_LEN {
            return Err(format!(
                "invalid tag {s:?}: longer than {MAX_TAG_LEN} characters"
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(format!("invalid tag {s:?}: it contains control characters"));
        }
        Ok(Self(s.to_string()))
    }

    /// The lowercase form tags are matched by (`Booked` and `BOOKED` are one tag).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The tag as first written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($t:ty, $parse:expr) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                $parse(&s)
            }
        }
    };
}

string_newtype_impls!(Email, Email::parse);
string_newtype_impls!(Tag, Tag::parse);
string_newtype_impls!(Phone, Phone::stored);

#[cfg(test)]
mod tests;
