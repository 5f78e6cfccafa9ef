//! Upkeep on a schedule: once a minute, and at once after a manual clock advance, the
//! retention sweep (`serve --retain`; what is deleted is the store's business,
//! `store::retention`), then the compaction check (`serve --compact-above`), which asks the
//! server to restart in place when the store's file has doubled (see `restart`). Apart, once
//! a second, the contacts' search texts written since are packed into their blocks
//! (`store::contacts`), so a name `?q=` never reads many of them one by one.

use crate::engine::worker::Worker;
use crate::store::clock::Clock;
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Longest time between two rounds.
const EVERY: Duration = Duration::from_secs(60);
/// Time between two packs of the contacts' search texts: a booking a second leaves one loose
/// entry per second to read; a thousand leave a thousand, still a few milliseconds.
const PACK_EVERY: Duration = Duration::from_secs(1);

/// What the schedule does each round.
pub struct Upkeep {
    /// Delete what is older than this; zero keeps everything.
    pub retain: Duration,
    /// Compact once sled's file is above this (and has doubled); zero never.
    pub compact_above: u64,
    /// Notified (once) when the store should be compacted.
    pub compact: Arc<Notify>,
}

/// Runs rounds until a compaction is asked for.
pub async fn run_forever(store: Store, clock: Clock, worker: Arc<Worker>, upkeep: Upkeep) {
    let retain_ms = i64::try_from(upkeep.retain.as_millis()).unwrap_or(i64::MAX);
    let floor = upkeep.compact_above;
    if retain_ms == 0 && floor == 0 {
        return;
    }
    let mut warned = false;
    loop {
        if retain_ms > 0 {
            sweep(&store, &clock, retain_ms).await;
        }
        let due = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                let due = store.compaction_due(floor)?;
                if due {
                    crate::store::compact::room_for_copy(store.dir())?;
                }
                Ok::<_, crate::store::StoreError>(due)
            })
            .await
        };
        match due {
            Ok(Ok(true)) => {
                tracing::info!("the store's file has doubled: restarting to compact it");
                upkeep.compact.notify_one();
                return;
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) if !warned => {
                warned = true;
                tracing::warn!(error = %e, "the store is due for compaction but cannot be compacted now");
            }
            Ok(Err(_)) => {}
            Err(e) => tracing::error!(error = %e, "compaction check panicked; will retry"),
        }
        let _ = tokio::time::timeout(EVERY, worker.clock_moved.notified()).await;
    }
}

/// Packs the contacts' new search texts every [`PACK_EVERY`], until aborted.
pub async fn pack_forever(store: Store) {
    let mut warned = false;
    loop {
        tokio::time::sleep(PACK_EVERY).await;
        let contacts = store.contacts.clone();
        match tokio::task::spawn_blocking(move || contacts.pack()).await {
            Ok(Ok(_)) => warned = false,
            // Once per failure spell: a store that cannot be written says so elsewhere too.
            Ok(Err(e)) if !warned => {
                warned = true;
                tracing::warn!(error = %e, "packing the contacts' search texts failed; will retry");
            }
            Ok(Err(_)) => {}
            Err(e) => tracing::error!(error = %e, "packing the contacts' search texts panicked"),
        }
    }
}

async fn sweep(store: &Store, clock: &Clock, retain_ms: i64) {
    let (store, clock) = (store.clone(), clock.clone());
    let started = Instant::now();
    let swept = tokio::task::spawn_blocking(move || {
        let now = clock.now_ms();
        store.sweep(now.saturating_sub(retain_ms), now)
    })
    .await;
    match swept {
        Ok(Ok(s)) if !s.is_empty() => tracing::info!(
            requests = s.requests,
            runs = s.runs,
            emails = s.emails,
            dedupe_marks = s.dedupe_marks,
            ms = started.elapsed().as_millis() as u64,
            "retention sweep deleted old records"
        ),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "retention sweep failed; will retry"),
        Err(e) => tracing::error!(error = %e, "retention sweep panicked; will retry"),
    }
}
