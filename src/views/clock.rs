//! The `/api/clock` document: which clock drives time, and what time it is.

use crate::domain::time::rfc3339;
use crate::store::clock::Clock;
use serde_json::{json, Value};

/// `{"mode": "real"|"manual", "now": RFC 3339}`.
pub fn show(clock: &Clock) -> Value {
    json!({"mode": clock.mode().as_str(), "now": rfc3339(clock.now_ms())})
}
