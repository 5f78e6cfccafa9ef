//! Identifiers: workflow ids (from file names), hook ids (secret, random) and ULIDs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A workflow or sequence id: `[a-z0-9][a-z0-9_-]*`, taken from the file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkflowId(String);

impl WorkflowId {
    /// Accepts ids of the form `[a-z0-9][a-z0-9_-]*`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if first_ok && rest_ok && s.len() <= 100 {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "invalid id {s:?}: ids are lowercase letters, digits, '_' and '-', starting with a letter or digit"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret path segment of a workflow's inbound URL: 128 random bits from the OS, as 32 hex
/// characters. It is a credential, so it never appears in logs (`Debug` is redacted).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HookId(String);

impl HookId {
    /// A fresh id from the operating system's random source.
    pub fn generate() -> Self {
        Self(random_hex(16))
    }

    /// Accepts exactly 32 lowercase hex characters.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookId(…)")
    }
}

/// `n` random bytes from the OS, hex encoded.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).expect("the OS random source is unavailable");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new ULID as a string (request, run, contact, email, timer and timeline ids). One
/// generator for the process, so ids made in the same millisecond still sort in creation order
/// ("newest first" lists, timers due together, a contact's timeline), and never below an id
/// the store already holds (see [`advance_past`]): a clock set back does not make new ids sort
/// before old ones.
pub fn new_ulid() -> String {
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    let now = ulid::Ulid::new();
    let next = match *last {
        Some(prev) if now <= prev => prev.increment().unwrap_or(now),
        _ => now,
    };
    *last = Some(next);
    next.to_string()
}

/// Makes every id [`new_ulid`] returns from now on sort after `id` (a ULID the store holds);
/// anything else is ignored.
pub fn advance_past(id: &str) {
    let Ok(id) = ulid::Ulid::from_string(id) else {
        return;
    };
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_none_or(|prev| prev < id) {
        *last = Some(id);
    }
}

/// The last id [`new_ulid`] made or [`advance_past`] set.
static LAST: std::sync::Mutex<Option<ulid::Ulid>> = std::sync::Mutex::new(None);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_ids_are_128_bits_and_distinct() {
        let a = HookId::generate();
        let b = HookId::generate();
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, b);
        assert!(HookId::parse(a.as_str()).is_some());
        assert!(HookId::parse("not-a-hook").is_none());
    }

    #[test]
    fn ulids_made_in_a_burst_sort_in_creation_order() {
        let ids: Vec<String> = (0..1000).map(|_| new_ulid()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn ids_made_after_advance_past_sort_after_it_even_when_it_is_ahead_of_the_clock() {
        let soon = ulid::Ulid::new().timestamp_ms() + 50;
        let ahead = ulid::Ulid::from_parts(soon, 5).to_string();
        advance_past(&ahead);
        let next = new_ulid();
        assert!(next > ahead, "{next} <= {ahead}");
        advance_past("not a ulid");
        assert!(new_ulid() > next);
    }

    #[test]
    fn workflow_ids_follow_the_file_name_rule() {
        assert!(WorkflowId::parse("optimantra-booking").is_ok());
        assert!(WorkflowId::parse("a_1").is_ok());
        assert!(WorkflowId::parse("-x").is_err());
        assert!(WorkflowId::parse("Booking").is_err());
        assert!(WorkflowId::parse("").is_err());
    }
}
