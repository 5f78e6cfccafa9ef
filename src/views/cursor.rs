//! List cursors: the position of the last item served (an id, or a timer key), sealed with a
//! short HMAC tag under a key kept in the store. A cursor hookflow did not hand out — a typo, a
//! truncated copy, one from another list — is then a 400 instead of a silently wrong page, and
//! cursors stay valid across restarts.

use super::ViewError;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Seals and opens the cursors of the list routes.
#[derive(Clone)]
pub struct Cursors {
    key: [u8; 32],
}

impl Cursors {
    /// Cursors signed with `key` (see `Store::signing_key`).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The `next_cursor` to hand out for `position` in the list `list`.
    pub fn seal(&self, list: &str, position: Option<String>) -> Option<String> {
        position.map(|p| format!("{p}.{}", self.tag(list, &p)))
    }

    /// The position inside `cursor`, when this server handed it out for `list`.
    pub fn open(&self, list: &str, cursor: Option<&str>) -> Result<Option<String>, ViewError> {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let valid = cursor.rsplit_once('.').filter(|(position, tag)| {
            bool::from(tag.as_bytes().ct_eq(self.tag(list, position).as_bytes()))
        });
        match valid {
            Some((position, _)) => Ok(Some(position.to_string())),
            None => Err(ViewError::BadRequest(format!(
                "cursor `{cursor}` was not handed out by this server for /api/{list}: pass the \
                 `next_cursor` of the previous page, or leave `cursor` out for the first page"
            ))),
        }
    }

    /// 64 bits of HMAC-SHA256 over the list and the position, in hex.
    fn tag(&self, list: &str, position: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(list.as_bytes());
        mac.update(b"\0");
        mac.update(position.as_bytes());
        let out = mac.finalize().into_bytes();
        out[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cursor_opens_to_its_position_on_its_own_list_only() {
        let c = Cursors::new([7; 32]);
        let sealed = c.seal("runs", Some("01J0000000000000000000000A".into()));
        let sealed = sealed.as_deref();
        assert_eq!(
            c.open("runs", sealed).unwrap().as_deref(),
            Some("01J0000000000000000000000A")
        );
        assert!(c.open("requests", sealed).is_err());
        assert!(Cursors::new([8; 32]).open("runs", sealed).is_err());
    }

    #[test]
    fn a_made_up_or_altered_cursor_is_refused_with_advice() {
        let c = Cursors::new([7; 32]);
        let sealed = c
            .seal("runs", Some("01J0000000000000000000000A".into()))
            .unwrap();
        let altered = sealed.replacen("01J", "01K", 1);
        for bad in [
            "garbage",
            "",
            ".",
            "01J0000000000000000000000A",
            altered.as_str(),
        ] {
            match c.open("runs", Some(bad)) {
                Err(ViewError::BadRequest(m)) => assert!(m.contains("next_cursor"), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(c.open("runs", None).unwrap(), None);
    }
}
