//! The clock that drives `now`, waits, due times and dedupe windows: the wall clock, or a
//! manual clock stored in the data dir (so it survives restarts) and moved only on request.

use super::{Store, StoreResult};
use crate::domain::time::{wall_now_ms, ClockMode, Millis};

const MANUAL_NOW: &[u8] = b"clock.manual_now";

/// A clock bound to a store.
#[derive(Clone)]
pub struct Clock {
    mode: ClockMode,
    store: Store,
}

impl Clock {
    /// A clock of the given mode; a manual clock starts at the wall time the first time.
    pub fn new(mode: ClockMode, store: Store) -> StoreResult<Self> {
        if mode == ClockMode::Manual && store.trees.meta.get(MANUAL_NOW)?.is_none() {
            store
                .trees
                .meta
                .insert(MANUAL_NOW, &wall_now_ms().to_be_bytes())?;
            store.flush_now()?;
        }
        Ok(Self { mode, store })
    }

    /// `real` or `manual`.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// The current time in milliseconds.
    pub fn now_ms(&self) -> Millis {
        match self.mode {
            ClockMode::Real => wall_now_ms(),
            ClockMode::Manual => self
                .store
                .trees
                .meta
                .get(MANUAL_NOW)
                .ok()
                .flatten()
                .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes))
                .unwrap_or_else(wall_now_ms),
        }
    }

    /// Sets a manual clock to `at` if that is later than now (never backwards); `durable`
    /// flushes it to disk at once.
    pub fn set_manual(&self, at: Millis, durable: bool) -> StoreResult<Millis> {
        let now = self.now_ms();
        if self.mode != ClockMode::Manual || at <= now {
            return Ok(now);
        }
        self.store
            .trees
            .meta
            .insert(MANUAL_NOW, &at.to_be_bytes())?;
        if durable {
            self.store.flush_now()?;
        }
        Ok(at)
    }

    /// Moves a manual clock forward by `by_ms` and returns the new time.
    pub fn advance(&self, by_ms: i64) -> StoreResult<Millis> {
        let next = self.now_ms() + by_ms;
        self.store
            .trees
            .meta
            .insert(MANUAL_NOW, &next.to_be_bytes())?;
        self.store.flush_now()?;
        Ok(next)
    }
}
