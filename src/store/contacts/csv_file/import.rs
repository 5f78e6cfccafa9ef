//! Applying a contacts CSV: rows matched like `find_contact`, in batches of transactions.
//!
//! A batch of rows is one sled transaction (100,000 rows are not one giant transaction, nor
//! 100,000 tiny ones); when a row is refused inside it, the batch is applied again one row per
//! transaction, so each row stays atomic and a bad row changes nothing. A store failure stops
//! the import: batches already committed stay, each of their rows whole.

use super::check::check_file;
use super::format::{Header, Row};
use super::prepare::{self, Prepared};
use crate::domain::contact::Contact;
use crate::store::contacts::change::commit;
use crate::store::contacts::matching::{lookup, phone_not_copied, phone_taken, Lookup};
use crate::store::contacts::packed::{self, Layout};
use crate::store::contacts::{ChangeCtx, ContactError, ContactTrees, ContactTx, TxResult};
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;
use std::io::Read;

/// A row the report mentions: its line in the file and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowNote {
    /// Where the row's record starts (the header is line 1).
    pub line: u64,
    /// What happened to it, in words.
    pub reason: String,
}

/// What an import did: `POST /api/contacts/import`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Rows that made a new contact.
    pub created: u64,
    /// Rows that matched a contact (one an earlier row made included).
    pub updated: u64,
    /// Rows that changed nothing, with the reason.
    pub skipped: Vec<RowNote>,
    /// Rows applied with a reservation (a phone not copied onto them).
    pub warnings: Vec<RowNote>,
}

/// What applying one row did.
struct Applied {
    created: bool,
    warning: Option<String>,
}

impl ContactTrees {
    /// Imports a CSV file. A file that cannot be read as a whole (not UTF-8, an unclosed
    /// quote, a bad header) is `Invalid` and changes nothing; a bad row is skipped.
    pub fn import_csv(
        &self,
        data: &[u8],
        region: &str,
        ctx: &ChangeCtx,
    ) -> Result<ImportReport, ContactError> {
        let text = check_file(data).map_err(ContactError::Invalid)?;
        self.import_rows(text.as_bytes(), region, ctx)
    }

    /// Imports a file that passed a [`super::FileCheck`], read from `file` (a spooled upload,
    /// so that the file need not be in memory); a BOM at its start is skipped.
    pub fn import_checked(
        &self,
        file: impl Read + Send,
        region: &str,
        ctx: &ChangeCtx,
    ) -> Result<ImportReport, ContactError> {
        let file =
            skip_bom(file).map_err(|e| ContactError::Store(format!("reading the file: {e}")))?;
        self.import_rows(file, region, ctx)
    }

    /// Applies the rows of checked text (without a BOM). The rows are read and encoded on
    /// a thread of their own (see [`super::prepare`]) while this one applies them.
    fn import_rows(
        &self,
        text: impl Read + Send,
        region: &str,
        ctx: &ChangeCtx,
    ) -> Result<ImportReport, ContactError> {
        let mut records = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text)
            .into_records();
        let header = match records.next() {
            Some(first) => Header::parse(&first.map_err(unreadable)?),
            None => Err("the file has no header row".into()),
        }
        .map_err(ContactError::Invalid)?;
        let (send, chunks) = std::sync::mpsc::sync_channel(prepare::AHEAD);
        // The reading thread encodes the contacts: with the store's own dictionary when the
        // caller writes with it.
        let learning = crate::store::codec::Learning::current();
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("csv-import".into())
                .spawn_scoped(scope, || {
                    let read = || prepare::read_chunks(records, &header, region, ctx, send);
                    match &learning {
                        Some(learning) => learning.scope(read),
                        None => read(),
                    }
                })
                .map_err(|e| ContactError::Store(format!("starting the import thread: {e}")))?;
            let mut report = ImportReport::default();
            // Blocks change only under this lock: the rows' new contacts go straight into
            // them, where the layout read once says (a transaction cannot look it up).
            let _packing = self.packing.lock().unwrap_or_else(|e| e.into_inner());
            let mut layout = packed::layout(&self.index)?;
            // An error drops `chunks`, which stops the reading thread.
            for chunk in chunks {
                let chunk = chunk?;
                self.check_room(&report)?;
                report.skipped.extend(chunk.skipped);
                self.apply_batch(&chunk.rows, ctx, &mut report, &mut layout)?;
            }
            // The texts the rows changed into their blocks now, not a second later: a list
            // right after an import would read them one by one.
            packed::pack(&self.index, self.block_bytes)?;
            report.skipped.sort_by_key(|n| n.line);
            report.warnings.sort_by_key(|n| n.line);
            Ok(report)
        })
    }

    /// Stops the import before sled meets a full disk, which would fail every later write
    /// until a restart (see `store::space`); the rows applied so far stay.
    fn check_room(&self, report: &ImportReport) -> Result<(), ContactError> {
        let Some(dir) = &self.reserve_of else {
            return Ok(());
        };
        crate::store::space::check(dir).map_err(|full| {
            ContactError::NoRoom(format!(
                "the import stopped after {} rows ({} created, {} updated): {full}; free some \
                 space and import the file again (rows already in match their contacts by email \
                 or phone and update them)",
                report.created + report.updated,
                report.created,
                report.updated
            ))
        })
    }

    fn apply_batch(
        &self,
        rows: &[Prepared],
        ctx: &ChangeCtx,
        report: &mut ImportReport,
        layout: &mut Layout,
    ) -> Result<(), ContactError> {
        if rows.is_empty() {
            return Ok(());
        }
        // Under the lock: an import reads every row's keys, and checking them all again at the
        // commit costs more than the lock it would spare.
        let all = self.transaction_locked(|tx| {
            let fresh = RefCell::default();
            let tx = tx.placing_new_texts(&fresh);
            let applied: Vec<Applied> = rows
                .iter()
                .map(|row| apply_row(&tx, row, ctx))
                .collect::<Result<_, _>>()?;
            Ok((applied, tx.place_new_texts(layout, self.block_bytes)?))
        });
        match all {
            Ok((applied, after)) => {
                *layout = after;
                for (row, a) in rows.iter().zip(applied) {
                    count(report, &row.row, a);
                }
            }
            Err(e @ ContactError::Store(_)) => return Err(e),
            // One row was refused and took the batch with it: one transaction per row now.
            Err(_) => {
                for row in rows {
                    match self.transaction(|tx| apply_row(tx, row, ctx)) {
                        Ok(a) => count(report, &row.row, a),
                        Err(e @ ContactError::Store(_)) => return Err(e),
                        Err(e) => report.skipped.push(RowNote {
                            line: row.row.line,
                            reason: e.to_string(),
                        }),
                    }
                }
            }
        }
        Ok(())
    }
}

fn count(report: &mut ImportReport, row: &Row, applied: Applied) {
    if applied.created {
        report.created += 1;
    } else {
        report.updated += 1;
    }
    if let Some(reason) = applied.warning {
        report.warnings.push(RowNote {
            line: row.line,
            reason,
        });
    }
}

/// Matches `row` like `find_contact` and updates the contact it finds, or makes one.
fn apply_row(tx: &ContactTx<'_>, prepared: &Prepared, ctx: &ChangeCtx) -> TxResult<Applied> {
    let row = &prepared.row;
    match lookup(tx, row.email.as_ref(), row.phone.as_ref())? {
        Lookup::Found(before, _) => {
            let before = *before;
            let mut after = before.clone();
            let mut warning = None;
            if let Some(phone) = row
                .phone
                .as_ref()
                .filter(|p| Some(*p) != before.phone.as_ref())
            {
                let email = row.email.as_ref().or(before.email.as_ref());
                if phone_taken(&tx.by_phone(phone)?, email, Some(&before.id)) {
                    warning = Some(phone_not_copied(phone));
                } else {
                    after.phone = Some(phone.clone());
                }
            }
            set_fields(&mut after, row);
            commit(tx, &before, after, ctx)?;
            Ok(Applied {
                created: false,
                warning,
            })
        }
        Lookup::Missed { phone_taken } => {
            let id_free = match &row.id {
                Some(id) => tx.get(id)?.is_none(),
                None => true,
            };
            let warning = row
                .phone
                .as_ref()
                .filter(|_| phone_taken)
                .map(phone_not_copied);
            match &prepared.new {
                // The usual case: the contact made ahead is the one the rules give.
                Some((contact, encoded)) if id_free && warning.is_none() => {
                    tx.insert_encoded(contact, encoded)?
                }
                _ => {
                    // The id made when the row was read, so ids keep the file's order.
                    let made = prepared.new.as_ref().map(|(c, _)| c.id.clone());
                    let id = made.or_else(|| row.id.clone()).filter(|_| id_free);
                    let phone = row.phone.clone().filter(|_| warning.is_none());
                    let contact = prepare::new_contact(row, ctx, id, phone);
                    tx.insert(&contact, &ctx.entry(prepare::created(&contact, ctx)))?
                }
            }
            Ok(Applied {
                created: true,
                warning,
            })
        }
    }
}

/// Sets what the row sets (blank cells were dropped when it was read): tags are added, never
/// removed. Phone and id are the caller's, as they follow matching rules.
pub(super) fn set_fields(c: &mut Contact, row: &Row) {
    let set = |field: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            field.clone_from(value);
        }
    };
    set(&mut c.first_name, &row.first_name);
    set(&mut c.last_name, &row.last_name);
    set(&mut c.timezone, &row.timezone);
    set(&mut c.source, &row.source);
    if row.email.is_some() {
        c.email.clone_from(&row.email);
    }
    if let Some(dnd) = row.dnd {
        c.dnd = dnd;
    }
    for tag in &row.tags {
        if !c.tags.iter().any(|t| t.key() == tag.key()) {
            c.tags.push(tag.clone());
        }
    }
    for (key, cell) in &row.custom {
        // An exported number or object comes back as its JSON text: that is no change.
        let unchanged = c
            .custom
            .get(key)
            .is_some_and(|v| super::format::custom_cell(Some(v)) == *cell);
        if !unchanged {
            c.custom.insert(key.clone(), Value::String(cell.clone()));
        }
    }
}

/// `file` after its BOM, if it starts with one.
fn skip_bom(mut file: impl Read + Send) -> std::io::Result<impl Read + Send> {
    let mut head = Vec::with_capacity(3);
    (&mut file).take(3).read_to_end(&mut head)?;
    if head == b"\xEF\xBB\xBF" {
        head.clear();
    }
    Ok(std::io::Cursor::new(head).chain(file))
}

pub(super) fn unreadable(e: csv::Error) -> ContactError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        return ContactError::Store(format!("reading the file: {io}"));
    }
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    ContactError::Invalid(format!("{at}the file cannot be read as CSV: {e}"))
}
