//! The retention sweep's schedule (`serve --retain`): once a minute, and at once after a
//! manual clock advance. What is deleted is the store's business (`store::retention`).

use crate::engine::worker::Worker;
use crate::store::clock::Clock;
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest time between two sweeps.
const EVERY: Duration = Duration::from_secs(60);

/// Sweeps forever; `retain` is zero when everything is kept (then it returns at once).
pub async fn run_forever(store: Store, clock: Clock, worker: Arc<Worker>, retain: Duration) {
    let Ok(retain_ms) = i64::try_from(retain.as_millis()) else {
        return;
    };
    if retain_ms == 0 {
        return;
    }
    loop {
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
        let _ = tokio::time::timeout(EVERY, worker.clock_moved.notified()).await;
    }
}
