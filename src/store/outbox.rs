//! The outbox: every email hookflow decided to send, with its delivery state.
//!
//! Four trees: `outbox` (id → record), `outbox_bodies` (id → rendered body, see [`body`]),
//! `pending` (ids of records not in a final state, so the mailer never scans sent mail) and
//! `unsubscribe` (token → contact id). The engine writes a
//! new record inside its own multi-tree transaction with [`insert_tx`], together with the step's
//! contact changes and the run's position; the mailer then moves the record through its states
//! with [`OutboxTrees::mark`], each move one small transaction over `outbox` + `pending`.

use super::txn::TxTree;
use crate::domain::time::Millis;
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
};
use sled::Transactional;
use std::fmt;

/// Where an email is in its life: `queued` → `sending` → `sent` | `failed` (or back to `queued`
/// for a retry); `skipped` is written by the engine for emails it decided not to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting for its first attempt or a retry (`next_attempt_at`).
    Queued,
    /// Handed to the transport; a crash here leaves delivery unconfirmed.
    Sending,
    /// Accepted by the server (or written to the local outbox).
    Sent,
    /// Given up: a permanent rejection, a message that cannot be built, or too many attempts.
    Failed,
    /// Never sent on purpose (DND, no address); decided by the engine.
    Skipped,
}

impl OutboxState {
    /// Final states are never touched again by delivery.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed | Self::Skipped)
    }

    /// The lowercase name used in JSON and query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One email as stored: what to send, to whom, and how delivery went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    /// ULID; also the local part of the fixed `Message-ID: <id@hookflow>`.
    pub id: String,
    /// The recipient (`addr` or `Name <addr>`).
    pub to: String,
    /// Carbon-copy recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind-copy recipients (in the envelope only, never in the headers).
    #[serde(default)]
    pub bcc: Vec<String>,
    /// The sender; `None` means the mailer's `--mail-from`.
    #[serde(default)]
    pub from: Option<String>,
    /// The subject, already rendered.
    pub subject: String,
    /// The plain-text body, already rendered.
    #[serde(default)]
    pub text: Option<String>,
    /// The HTML body, already rendered.
    #[serde(default)]
    pub html: Option<String>,
    /// Delivery state.
    pub state: OutboxState,
    /// Delivery attempts started so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last failure: the server's answer or the transport's error.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The Message-ID the email carries once it was sent.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The run that created the email.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The contact it was sent to.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// The unsubscribe token (128 random bits, hex).
    #[serde(default)]
    pub unsubscribe_token: Option<String>,
    /// `{public_url}/unsubscribe/{token}`, put in the body and in `List-Unsubscribe`.
    #[serde(default)]
    pub unsubscribe_url: Option<String>,
    /// When the engine created the record (ms); also the email's `Date`.
    pub created_at: Millis,
    /// Not to be attempted before this time (ms).
    #[serde(default)]
    pub next_attempt_at: Millis,
    /// When the server accepted it (ms).
    #[serde(default)]
    pub sent_at: Option<Millis>,
    /// Outbox mode: the `.eml` file written for it.
    #[serde(default)]
    pub eml_path: Option<String>,
    /// Why the engine skipped it (state `skipped`).
    #[serde(default)]
    pub skip_reason: Option<String>,
}

/// What can go wrong in the outbox store.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// sled failed (disk full, I/O error).
    #[error("outbox store: {0}; check the data dir's disk and permissions")]
    Sled(#[from] sled::Error),
    /// A stored record does not parse: the data dir was written by an incompatible version.
    #[error("outbox record {id} is unreadable ({reason}); the data dir may come from another hookflow version")]
    Corrupt {
        /// The record's id.
        id: String,
        /// What the store's codec said.
        reason: String,
    },
    /// No record has this id.
    #[error("outbox record {0} does not exist")]
    NotFound(String),
    /// The record is not in the state this change starts from (another worker took it).
    #[error("outbox record {id} is {actual}, not {expected}; the change was not applied")]
    WrongState {
        /// The record's id.
        id: String,
        /// The state the change starts from.
        expected: OutboxState,
        /// The state the record is in.
        actual: OutboxState,
    },
}

/// One page of [`OutboxTrees::list`], newest first.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxPage {
    /// The records of this page.
    pub items: Vec<OutboxRecord>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The outbox's sled trees.
#[derive(Clone)]
pub struct OutboxTrees {
    outbox: sled::Tree,
    bodies: sled::Tree,
    pending: sled::Tree,
    unsubscribe: sled::Tree,
    /// The store's shared flusher; without one (tests of this module alone) sled flushes.
    commit: Option<super::commit::GroupCommit>,
}

impl OutboxTrees {
    /// Opens (or creates) the trees `outbox`, `outbox_pending` and `unsubscribe`.
    pub fn open(db: &sled::Db) -> Result<Self, OutboxError> {
        Ok(Self {
            outbox: db.open_tree("outbox")?,
            bodies: db.open_tree(body::TREE)?,
            pending: db.open_tree("outbox_pending")?,
            unsubscribe: db.open_tree("unsubscribe")?,
            commit: None,
        })
    }

    /// Flushes through the store's group commit: sled misbehaves with concurrent flushes.
    pub fn with_commit(mut self, commit: super::commit::GroupCommit) -> Self {
        self.commit = Some(commit);
        self
    }

    /// The id → record tree, for the engine's own transactions.
    pub fn outbox(&self) -> &sled::Tree {
        &self.outbox
    }

    /// The id → rendered body tree, for the engine's own transactions.
    pub fn bodies(&self) -> &sled::Tree {
        &self.bodies
    }

    /// The index of records not in a final state, for the engine's own transactions.
    pub fn pending(&self) -> &sled::Tree {
        &self.pending
    }

    /// The token → contact id tree, for the engine's own transactions.
    pub fn unsubscribe(&self) -> &sled::Tree {
        &self.unsubscribe
    }

    /// Inserts one record in its own transaction (when no other tree changes with it).
    pub fn insert(
        &self,
        record: &OutboxRecord,
        contact_id: Option<&str>,
    ) -> Result<(), OutboxError> {
        let trees = [&self.outbox, &self.bodies, &self.pending, &self.unsubscribe];
        super::txn::transaction(&trees, |v| {
            insert_tx::<OutboxError>(&v[0], &v[1], &v[2], &v[3], record, contact_id)
        })
        .map_err(flatten)
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Result<Option<OutboxRecord>, OutboxError> {
        let Some(raw) = self.outbox.get(id.as_bytes())? else {
            return Ok(None);
        };
        let mut record = decode(id, &raw)?;
        body::fill(&self.bodies, &mut record)?;
        Ok(Some(record))
    }

    /// Records newest first (ids are ULIDs), optionally only those in `state`, starting after
    /// `cursor` (the last id of the previous page).
    pub fn list(
        &self,
        state: Option<OutboxState>,
        contact: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OutboxPage, OutboxError> {
        let iter = match cursor {
            Some(c) => self.outbox.range(..c.as_bytes()),
            None => self.outbox.iter(),
        };
        let mut items = Vec::new();
        let mut more = false;
        for entry in iter.rev() {
            let (k, v) = entry?;
            let mut record = decode(&String::from_utf8_lossy(&k), &v)?;
            if state.is_some_and(|s| s != record.state)
                || contact.is_some_and(|c| record.contact_id.as_deref() != Some(c))
            {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            body::fill(&self.bodies, &mut record)?;
            items.push(record);
        }
        let next_cursor = if more {
            items.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(OutboxPage { items, next_cursor })
    }

    /// Applies a mailer state change atomically, refusing it when the record is not in the
    /// state the change starts from; returns the updated record, body included.
    pub fn mark(&self, id: &str, change: &Transition) -> Result<OutboxRecord, OutboxError> {
        let mut record = self
            .mark_rows(&[(id, change)])?
            .pop()
            .unwrap_or_else(|| Err(OutboxError::NotFound(id.to_string())))?;
        body::fill(&self.bodies, &mut record)?;
        Ok(record)
    }

    /// Applies many state changes in one transaction: each as [`OutboxTrees::mark`] would, a
    /// refused one (wrong state, unknown id) refused on its own without stopping the rest.
    /// The outer error is the store's; the inner ones, in order, each change's. The records
    /// come back as their rows, without their bodies (the mailer has them already).
    pub fn mark_rows(
        &self,
        changes: &[(&str, &Transition)],
    ) -> Result<Vec<Result<OutboxRecord, OutboxError>>, OutboxError> {
        match &self.commit {
            Some(commit) => commit.with_own_dictionary(|| self.mark_rows_here(changes)),
            None => self.mark_rows_here(changes),
        }
    }

    fn mark_rows_here(
        &self,
        changes: &[(&str, &Transition)],
    ) -> Result<Vec<Result<OutboxRecord, OutboxError>>, OutboxError> {
        (&self.outbox, &self.pending)
            .transaction(|(o, p)| {
                let mut out = Vec::with_capacity(changes.len());
                for (id, change) in changes {
                    let Some(raw) = o.get(id.as_bytes())? else {
                        out.push(Err(OutboxError::NotFound(id.to_string())));
                        continue;
                    };
                    let mut record = decode(id, &raw).map_err(abort)?;
                    let expected = change.allowed_from();
                    if record.state != expected {
                        out.push(Err(OutboxError::WrongState {
                            id: id.to_string(),
                            expected,
                            actual: record.state,
                        }));
                        continue;
                    }
                    change.apply(&mut record);
                    // The row only: its body (if not inline) was written once, with the row.
                    o.set(id.as_bytes(), Some(encode(&record).into()));
                    if record.state.is_final() {
                        p.set(id.as_bytes(), None);
                    }
                    out.push(Ok(record));
                }
                Ok(out)
            })
            .map_err(flatten)
    }

    /// Every record not in a final state, oldest first, as rows without their bodies (what
    /// counts and due times need).
    pub fn pending_rows(&self) -> Result<Vec<OutboxRecord>, OutboxError> {
        let mut out = Vec::new();
        for key in self.pending.iter().keys() {
            let key = key?;
            let id = String::from_utf8_lossy(&key);
            // The index and the record are written in one transaction, so a miss is not
            // expected; skipping it keeps one odd row from stopping all mail.
            if let Some(raw) = self.outbox.get(key.as_ref())? {
                out.push(decode(&id, &raw)?);
            }
        }
        Ok(out)
    }

    /// Queued records whose `next_attempt_at` has come, oldest first, at most `limit`: the
    /// walk stops there, so a long backlog costs each pass only what it takes.
    pub fn pending_due(
        &self,
        now_ms: Millis,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, OutboxError> {
        let mut due = Vec::new();
        for key in self.pending.iter().keys() {
            if due.len() == limit {
                break;
            }
            let key = key?;
            let id = String::from_utf8_lossy(&key);
            let Some(raw) = self.outbox.get(key.as_ref())? else {
                continue;
            };
            let mut r = decode(&id, &raw)?;
            if r.state == OutboxState::Queued && r.next_attempt_at <= now_ms {
                // Only a record about to be sent needs its body.
                body::fill(&self.bodies, &mut r)?;
                due.push(r);
            }
        }
        Ok(due)
    }

    /// The contact an unsubscribe token belongs to.
    pub fn contact_for_token(&self, token: &str) -> Result<Option<String>, OutboxError> {
        Ok(self
            .unsubscribe
            .get(token.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Waits until everything written so far is on disk.
    pub async fn flush(&self) -> Result<(), OutboxError> {
        match &self.commit {
            Some(commit) => commit.wait().await.map_err(|e| {
                OutboxError::Sled(sled::Error::Io(std::io::Error::other(e.to_string())))
            }),
            None => {
                self.outbox.flush_async().await?;
                Ok(())
            }
        }
    }
}

/// Writes `record` inside the caller's transaction: the row, its body, its `pending` index entry
/// when the state is not final, and `unsubscribe_token → contact_id` when both are known. `E` is the
/// caller's abort error, so this composes with the engine's own transaction closure.
pub fn insert_tx<E: From<OutboxError>>(
    outbox: &TxTree<'_>,
    bodies: &TxTree<'_>,
    pending: &TxTree<'_>,
    unsubscribe: &TxTree<'_>,
    record: &OutboxRecord,
    contact_id: Option<&str>,
) -> ConflictableTransactionResult<(), E> {
    let (row, body) = body::split(record);
    outbox.insert(record.id.as_bytes(), row)?;
    if let Some(body) = body {
        bodies.insert(record.id.as_bytes(), body)?;
    }
    if !record.state.is_final() {
        pending.insert(record.id.as_bytes(), &[][..])?;
    }
    if let (Some(token), Some(contact)) = (&record.unsubscribe_token, contact_id) {
        unsubscribe.insert(token.as_bytes(), contact.as_bytes())?;
    }
    Ok(())
}

fn encode(record: &OutboxRecord) -> Vec<u8> {
    super::codec::encode(record)
}

fn decode(id: &str, raw: &[u8]) -> Result<OutboxRecord, OutboxError> {
    super::codec::decode("outbox", raw).map_err(|e| OutboxError::Corrupt {
        id: id.to_string(),
        reason: e.to_string(),
    })
}

fn abort(e: OutboxError) -> ConflictableTransactionError<OutboxError> {
    ConflictableTransactionError::Abort(e)
}

fn flatten(e: TransactionError<OutboxError>) -> OutboxError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => OutboxError::Sled(e),
    }
}

mod body;
#[cfg(test)]
mod tests;
mod transition;

pub use transition::Transition;
