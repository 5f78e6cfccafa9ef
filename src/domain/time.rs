//! Timestamps as RFC 3339 UTC strings, the only time format hookflow shows.

use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Which clock drives `now`, waits and dedupe windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The wall clock.
    Real,
    /// A stored clock moved by `hookflow clock advance`.
    Manual,
}

impl ClockMode {
    /// Every mode, as the flag spells it.
    pub const NAMES: [&'static str; 2] = ["real", "manual"];

    /// The name the flag and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::Real => "real",
            ClockMode::Manual => "manual",
        }
    }
}

impl std::str::FromStr for ClockMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(ClockMode::Real),
            "manual" => Ok(ClockMode::Manual),
            other => Err(format!("unknown clock {other:?}: use real or manual")),
        }
    }
}

/// Milliseconds since the Unix epoch; hookflow's internal time unit.
pub type Millis = i64;

/// The wall clock in milliseconds.
pub fn wall_now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 UTC with millisecond precision, e.g. `2026-11-22T10:07:59.123Z`.
pub fn rfc3339(ms: Millis) -> String {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let s = dt.format(&Rfc3339).unwrap_or_default();
    s.replace("+00:00", "Z")
}
