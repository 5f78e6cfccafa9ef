//! Start-up: applies what the journal holds past sled's applied position, then starts over
//! with an empty journal.

use super::{ApplyTrees, Journaled, APPLIED, MAX_BATCH};
use crate::store::control::Acked;
use crate::store::journal::{self, entry::Entry, Damage, End, Position};
use crate::store::{StoreError, StoreResult};
use std::path::Path;

/// Applies every journaled request sled does not hold, makes sled durable and deletes the
/// segments. Returns sled's applied position and the number of the segment to start.
pub(crate) fn run(
    data_dir: &Path,
    db: &sled::Db,
    trees: &ApplyTrees,
    accept_loss: bool,
) -> StoreResult<(Position, u64)> {
    let dir = journal::dir_of(data_dir);
    let segments = journal::segments(&dir)?;
    let applied = trees
        .meta
        .get(APPLIED)?
        .and_then(|v| Position::from_bytes(&v))
        .unwrap_or_default();
    let Some(&last) = segments.last() else {
        return Ok((applied, applied.segment + 1));
    };
    let mut acked = Acked::read(&trees.meta)?;
    if acked.store_id.is_none() && !accept_loss {
        // sled opened empty (a lost or damaged `db` file) beside a journal: the control file
        // check refuses it next; nothing is written into it before.
        return Ok((applied, last + 1));
    }
    let mut batch: Vec<Journaled> = Vec::new();
    let mut replayed = 0u64;
    let mut apply = |batch: &mut Vec<Journaled>, acked: &mut Acked| -> StoreResult<()> {
        *acked = trees.apply(batch, acked)?;
        replayed += batch.len() as u64;
        batch.clear();
        Ok(())
    };
    for &segment in segments.iter().filter(|s| **s >= applied.segment) {
        let from = if segment == applied.segment {
            applied.offset
        } else {
            0
        };
        let end = journal::read_segment(&dir, segment, from, |bytes, at| {
            let entry = Entry::decode(bytes).map_err(|what| damaged(&dir, segment, at, &what))?;
            batch.push((entry, at));
            if batch.len() >= MAX_BATCH {
                apply(&mut batch, &mut acked)?;
            }
            Ok(())
        })?;
        apply(&mut batch, &mut acked)?;
        match end {
            Ok(End::Clean) => {}
            Ok(End::Torn { at, len }) if segment == last => {
                tracing::warn!(
                    segment = %journal::segment_path(&dir, segment).display(),
                    at,
                    bytes = len,
                    "cut an unfinished round off the journal (written as the process stopped, \
                     never answered)"
                );
                journal::cut(&dir, segment, at)?;
            }
            Ok(End::Torn { at, len }) => {
                let what =
                    format!("{len} bytes that are not whole records before the next segment");
                refuse_or_skip(accept_loss, damage_of(&dir, segment, at, what))?;
            }
            Err(damage) => refuse_or_skip(accept_loss, damage)?,
        }
    }
    if replayed > 0 {
        db.flush()?;
        std::fs::File::open(data_dir.join("sled").join("db"))?.sync_data()?;
        tracing::info!(
            requests = replayed,
            "applied the journal's requests to the store"
        );
    }
    let applied = trees
        .meta
        .get(APPLIED)?
        .and_then(|v| Position::from_bytes(&v))
        .unwrap_or(applied);
    journal::delete_all(&dir)?;
    Ok((applied, last.max(applied.segment) + 1))
}

fn damage_of(dir: &Path, segment: u64, offset: u64, what: String) -> Damage {
    Damage {
        path: journal::segment_path(dir, segment),
        offset,
        what,
    }
}

fn damaged(dir: &Path, segment: u64, at: Position, what: &str) -> StoreError {
    corrupt(&damage_of(
        dir,
        segment,
        at.offset,
        format!("a record ending here: {what}"),
    ))
}

fn corrupt(d: &Damage) -> StoreError {
    StoreError::Corrupt {
        tree: "journal",
        message: format!(
            "{} is damaged at byte {}: {}.\n  Make a new data dir from a backup (`hookflow \
             restore FILE --data NEW_DIR`), or start with `hookflow serve --accept-data-loss` \
             to skip the damaged part (the requests in it stay lost)",
            d.path.display(),
            d.offset,
            d.what
        ),
    }
}

/// A damaged segment stops the start unless the loss is accepted (then it is logged).
fn refuse_or_skip(accept_loss: bool, damage: Damage) -> StoreResult<()> {
    if !accept_loss {
        return Err(corrupt(&damage));
    }
    tracing::error!(
        segment = %damage.path.display(),
        at = damage.offset,
        what = %damage.what,
        "STARTING WITH DATA LOSS (--accept-data-loss): skipped the rest of a damaged journal segment"
    );
    Ok(())
}
