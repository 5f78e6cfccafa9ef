//! Reading an import's rows on a thread of their own, ahead of the transactions that apply
//! them: the CSV, the phone numbers' validation, and the contact a row makes when nothing
//! matches it, encoded as stored. The transactions are sled's work alone then, and it runs
//! beside them (a tenth of an import was the phone library, another tenth the encoding).

use super::format::{Header, Row};
use super::import::{set_fields, unreadable, RowNote};
use crate::domain::contact::Contact;
use crate::store::contacts::change::diff;
use crate::store::contacts::tx::Encoded;
use crate::store::contacts::{ChangeCtx, ContactError};
use std::io::Read;
use std::sync::mpsc::SyncSender;

/// Rows per chunk: one transaction's worth.
pub(super) const CHUNK: usize = 500;
/// Chunks read ahead of the one being applied (memory stays a few chunks).
pub(super) const AHEAD: usize = 2;

/// A row with the contact it makes when nothing matches it.
pub(super) struct Prepared {
    /// The row as read.
    pub row: Row,
    /// The new contact and its encoding, made as if the row's id (if any) and phone are free;
    /// `None` when encoding failed (the transaction encodes it again and says why).
    pub new: Option<(Contact, Encoded)>,
}

/// One transaction's rows, with the rows of that stretch of the file that were skipped.
#[derive(Default)]
pub(super) struct Chunk {
    /// Rows to apply, in file order.
    pub rows: Vec<Prepared>,
    /// Rows that could not be read.
    pub skipped: Vec<RowNote>,
}

/// Reads `records` into chunks and sends them; a record that cannot be read is sent as the
/// error and ends the file. Stops early when the receiver is gone (the import failed).
pub(super) fn read_chunks<R: Read>(
    records: csv::StringRecordsIntoIter<R>,
    header: &Header,
    region: &str,
    ctx: &ChangeCtx,
    send: SyncSender<Result<Chunk, ContactError>>,
) {
    let mut chunk = Chunk::default();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let _ = send.send(Err(unreadable(e)));
                return;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match header.row(&record, line, region) {
            Ok(row) => chunk.rows.push(prepare(row, ctx)),
            Err(reason) => chunk.skipped.push(RowNote { line, reason }),
        }
        if chunk.rows.len() == CHUNK && send.send(Ok(std::mem::take(&mut chunk))).is_err() {
            return;
        }
    }
    let _ = send.send(Ok(chunk));
}

fn prepare(row: Row, ctx: &ChangeCtx) -> Prepared {
    let contact = new_contact(&row, ctx, row.id.clone(), row.phone.clone());
    let new = Encoded::new(&contact, &ctx.entry(created(&contact, ctx))).ok();
    Prepared {
        row,
        new: new.map(|encoded| (contact, encoded)),
    }
}

/// The contact `row` makes: with `id` (else a fresh one) and `phone`, which follow the
/// matching rules and are the caller's.
pub(super) fn new_contact(
    row: &Row,
    ctx: &ChangeCtx,
    id: Option<String>,
    phone: Option<crate::domain::contact::Phone>,
) -> Contact {
    let mut contact = Contact::new(ctx.now);
    // An exported id comes back (a re-import after a reset keeps ids and links).
    if let Some(id) = id {
        contact.id = id;
    }
    contact.created_at = row.created.unwrap_or(ctx.now);
    contact.source = Some("import".into());
    contact.phone = phone;
    set_fields(&mut contact, row);
    contact
}

/// The changes of a new contact's first timeline entry: everything it has.
pub(super) fn created(contact: &Contact, ctx: &ChangeCtx) -> serde_json::Value {
    let blank = Contact {
        id: contact.id.clone(),
        ..Contact::new(ctx.now)
    };
    diff(&blank, contact)
}
