//! The contacts CSV format with GHL's column names: a file's header, its rows read into
//! validated values, and a contact written as a row. Depends on the domain only.

use crate::domain::contact::{Contact, Email, Phone, Tag};
use crate::domain::time::{rfc3339, Millis};
use csv::StringRecord;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The standard columns, in export order (DESIGN.md "Contacts CSV").
pub const COLUMNS: [&str; 10] = [
    "Contact Id",
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Tags",
    "DND",
    "Timezone",
    "Source",
    "Created",
];

/// A standard column, by its index in [`COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    FirstName,
    LastName,
    Email,
    Phone,
    Tags,
    Dnd,
    Timezone,
    Source,
    Created,
}

const FIELDS: [Field; 10] = [
    Field::Id,
    Field::FirstName,
    Field::LastName,
    Field::Email,
    Field::Phone,
    Field::Tags,
    Field::Dnd,
    Field::Timezone,
    Field::Source,
    Field::Created,
];

/// What one column of a file holds.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Standard(Field),
    Custom(String),
    /// A column with an empty name (spreadsheets add trailing ones): ignored.
    Ignored,
}

/// A file's header: what each column holds.
#[derive(Debug, Clone)]
pub struct Header {
    columns: Vec<Column>,
}

/// One row, read and validated; every `None` or empty value leaves that field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The row's line in the file (where its record starts; the header is line 1).
    pub line: u64,
    /// `Contact Id`, kept only when it is a ULID (it may then name a new contact).
    pub id: Option<String>,
    /// `First Name`.
    pub first_name: Option<String>,
    /// `Last Name`.
    pub last_name: Option<String>,
    /// `Email`.
    pub email: Option<Email>,
    /// `Phone`.
    pub phone: Option<Phone>,
    /// `Tags`, to add.
    pub tags: Vec<Tag>,
    /// `DND`.
    pub dnd: Option<bool>,
    /// `Timezone`.
    pub timezone: Option<String>,
    /// `Source`.
    pub source: Option<String>,
    /// `Created`, used only when the row makes a new contact.
    pub created: Option<Millis>,
    /// Custom fields with a non-blank cell, in column order.
    pub custom: Vec<(String, String)>,
}

impl Header {
    /// Reads a header row. Duplicate columns, or neither `Email` nor `Phone`, are errors.
    pub fn parse(record: &StringRecord) -> Result<Self, String> {
        let mut columns: Vec<Column> = Vec::with_capacity(record.len());
        for (i, name) in record.iter().enumerate() {
            let name = name.trim();
            let column = if name.is_empty() {
                Column::Ignored
            } else if let Some(at) = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                Column::Standard(FIELDS[at])
            } else {
                Column::Custom(name.to_string())
            };
            if column != Column::Ignored {
                if let Some(first) = columns.iter().position(|c| *c == column) {
                    return Err(format!(
                        "the header names column `{name}` twice (columns {} and {}); \
                         remove or rename one",
                        first + 1,
                        i + 1
                    ));
                }
            }
            columns.push(column);
        }
        let has = |f: Field| columns.contains(&Column::Standard(f));
        if !has(Field::Email) && !has(Field::Phone) {
            return Err(
                "the header (line 1) has neither an `Email` nor a `Phone` column; rows are \
                 matched by them, so one is needed (columns: Contact Id, First Name, Last Name, \
                 Email, Phone, Tags, DND, Timezone, Source, Created, or any custom field name)"
                    .into(),
            );
        }
        Ok(Self { columns })
    }

    /// Reads and validates one row; the error is the reason it is skipped.
    pub fn row(&self, record: &StringRecord, line: u64, region: &str) -> Result<Row, String> {
        if record.len() != self.columns.len() {
            return Err(format!(
                "the row has {} fields but the header has {} (a missing or unquoted comma?)",
                record.len(),
                self.columns.len()
            ));
        }
        let mut row = Row {
            line,
            ..Row::default()
        };
        for (column, cell) in self.columns.iter().zip(record.iter()) {
            if cell.trim().is_empty() {
                continue;
            }
            match column {
                Column::Ignored => {}
                Column::Custom(name) => row.custom.push((name.clone(), cell.to_string())),
                Column::Standard(field) => set(&mut row, *field, cell, region)?,
            }
        }
        if row.email.is_none() && row.phone.is_none() {
            return Err("no email or phone: a row needs one to be matched or created".into());
        }
        Ok(row)
    }
}

/// Sets one standard field from a non-blank cell.
fn set(row: &mut Row, field: Field, cell: &str, region: &str) -> Result<(), String> {
    let text = || Some(cell.trim().to_string());
    match field {
        // A foreign id (another CRM's) is no error: the row is matched by email and phone.
        Field::Id => row.id = ulid(cell.trim()),
        Field::FirstName => row.first_name = text(),
        Field::LastName => row.last_name = text(),
        Field::Email => row.email = Some(Email::parse(cell)?),
        Field::Phone => row.phone = Some(Phone::parse(cell, region)?),
        Field::Tags => {
            for part in cell.split([',', ';']).filter(|t| !t.trim().is_empty()) {
                let tag = Tag::parse(part)?;
                if !row.tags.iter().any(|t| t.key() == tag.key()) {
                    row.tags.push(tag);
                }
            }
        }
        Field::Dnd => {
            row.dnd = Some(match cell.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => return Err(format!("DND {:?}: expected true or false", cell.trim())),
            })
        }
        Field::Timezone => row.timezone = text(),
        Field::Source => row.source = text(),
        Field::Created => {
            let at = OffsetDateTime::parse(cell.trim(), &Rfc3339).map_err(|_| {
                format!(
                    "Created {:?}: expected an RFC 3339 time such as 2026-01-31T09:00:00Z",
                    cell.trim()
                )
            })?;
            row.created = Some((at.unix_timestamp_nanos() / 1_000_000) as Millis);
        }
    }
    Ok(())
}

/// `s` when it is a ULID in canonical form (the form contact ids are stored in).
fn ulid(s: &str) -> Option<String> {
    ulid::Ulid::from_string(s)
        .ok()
        .map(|u| u.to_string())
        .filter(|canonical| canonical == s)
}

/// The header row of an export with these custom fields.
pub fn header_record(custom: &[String]) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(custom.iter().cloned())
        .collect()
}

/// A contact as an export row; `custom` are the header's custom columns, in order.
pub fn contact_record(c: &Contact, custom: &[String]) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let tags: Vec<&str> = c.tags.iter().map(Tag::as_str).collect();
    let mut out = vec![
        c.id.clone(),
        opt(&c.first_name),
        opt(&c.last_name),
        c.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        c.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        tags.join(","),
        c.dnd.to_string(),
        opt(&c.timezone),
        opt(&c.source),
        rfc3339(c.created_at),
    ];
    out.extend(custom.iter().map(|k| custom_cell(c.custom.get(k))));
    out
}

/// A custom value as a cell: strings as they are, other JSON values as JSON text.
pub fn custom_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
