//! The stored and shown shapes of a contact, its enrolments and its timeline entries.
//! Times are `Millis` inside and RFC 3339 strings in JSON, as DESIGN.md shows them.

use super::{Email, Phone, Tag};
use crate::domain::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A contact exactly as the API shows it and the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// ULID, so key order is creation order.
    pub id: String,
    /// Given name, if known.
    pub first_name: Option<String>,
    /// Family name, if known.
    pub last_name: Option<String>,
    /// Unique across contacts.
    pub email: Option<Email>,
    /// Not unique: a family may share one phone.
    pub phone: Option<Phone>,
    /// As first written; unique by `Tag::key`.
    pub tags: Vec<Tag>,
    /// Free-form fields set by workflows and the API.
    pub custom: Map<String, Value>,
    /// Do not disturb: no marketing or sequence email.
    pub dnd: bool,
    /// IANA zone name, e.g. `America/Toronto`.
    pub timezone: Option<String>,
    /// Where the contact came from (workflow id, `api`, `import`).
    pub source: Option<String>,
    /// Sequence enrolments.
    pub sequences: Vec<Enrolment>,
    /// When the contact was made.
    #[serde(with = "rfc3339_ms")]
    pub created_at: Millis,
    /// When anything last changed.
    #[serde(with = "rfc3339_ms")]
    pub updated_at: Millis,
}

impl Contact {
    /// An empty contact with a fresh ULID, made at `now`.
    pub fn new(now: Millis) -> Self {
        Self {
            id: crate::domain::ids::new_ulid(),
            first_name: None,
            last_name: None,
            email: None,
            phone: None,
            tags: Vec::new(),
            custom: Map::new(),
            dnd: false,
            timezone: None,
            source: None,
            sequences: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Case-insensitive tag test (`has_tag` in conditions).
    pub fn has_tag(&self, tag: &str) -> bool {
        let key = tag.trim().to_lowercase();
        self.tags.iter().any(|t| t.key() == key)
    }
}

/// A contact's place in one sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The sequence id.
    pub sequence: String,
    /// Index of the next step to run.
    pub step: usize,
    /// When that step is due; `None` once nothing is scheduled.
    #[serde(with = "rfc3339_ms::option")]
    pub next_due_at: Option<Millis>,
    /// Whether the enrolment still runs.
    pub state: EnrolmentState,
}

/// The life of an enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnrolmentState {
    /// Steps still to run.
    Active,
    /// Every step ran.
    Completed,
    /// Removed from the sequence (or unsubscribed).
    Cancelled,
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// A workflow or sequence run.
    Run,
    /// The admin API (PATCH).
    Api,
    /// A CSV import.
    Import,
    /// The unsubscribe link.
    Unsubscribe,
}

/// One change to a contact, for its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When the change was committed (hookflow's clock).
    #[serde(with = "rfc3339_ms")]
    pub at: Millis,
    /// The run that made it, if a run did.
    pub run_id: Option<String>,
    /// The step's path in that run, e.g. `[2]`.
    pub step: Option<String>,
    /// Who made it.
    pub actor: Actor,
    /// `{"field": {"from", "to"}}`, `{"tags_added": [..]}`, `{"tags_removed": [..]}`.
    pub changes: Value,
}

/// Serde adapters: `Millis` as RFC 3339 UTC strings.
pub mod rfc3339_ms {
    use crate::domain::time::{rfc3339, Millis};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    /// Writes `ms` as RFC 3339.
    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*ms))
    }

    /// Reads an RFC 3339 string back to milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(D::Error::custom)
    }

    /// Parses an RFC 3339 time to milliseconds since the epoch.
    pub fn parse(s: &str) -> Result<Millis, String> {
        let dt = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|e| format!("invalid time {s:?}: {e} (expected RFC 3339)"))?;
        Ok((dt.unix_timestamp_nanos() / 1_000_000) as Millis)
    }

    /// The same for optional times (`null` in JSON).
    pub mod option {
        use super::Millis;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `Some(ms)` as RFC 3339 and `None` as null.
        pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => super::serialize(ms, s),
                None => s.serialize_none(),
            }
        }

        /// Reads an RFC 3339 string or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| super::parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}
