//! How a request record is stored. An accepted request whose payload is its body read as
//! strict JSON (`payload_is_body`) is stored without the payload, which would repeat the body
//! (about a third of the record's JSON); reading it parses the body again with the same parser,
//! so the payload read is the one intake parsed. Every other record, and every record written
//! before, keeps its `payload`, and a record with one is read as it is.

use super::{ItemRecord, ItemStatus, RequestRecord};
use crate::domain::strict_json::parse_strict;
use serde::{Deserialize, Deserializer, Serialize};

/// A stored record as read: `payload` is `None` when the key is absent.
#[derive(Deserialize)]
pub(crate) struct Raw {
    id: String,
    workflow: String,
    received_at: String,
    method: String,
    remote_addr: Option<String>,
    headers: Vec<(String, String)>,
    query: String,
    content_type: Option<String>,
    body: String,
    body_size: u64,
    body_truncated: bool,
    status: ItemStatus,
    http_status: u16,
    reason: Option<String>,
    #[serde(default, deserialize_with = "present")]
    payload: Option<serde_json::Value>,
    items: Vec<ItemRecord>,
    #[serde(default)]
    replay_of: Option<String>,
}

/// A key that is present, `null` included.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl TryFrom<Raw> for RequestRecord {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Self, String> {
        let payload_is_body = raw.payload.is_none();
        let payload = match raw.payload {
            Some(payload) => payload,
            None => parse_strict(raw.body.as_bytes())
                .map_err(|e| format!("request {}: its body no longer parses: {e:?}", raw.id))?,
        };
        Ok(RequestRecord {
            id: raw.id,
            workflow: raw.workflow,
            received_at: raw.received_at,
            method: raw.method,
            remote_addr: raw.remote_addr,
            headers: raw.headers,
            query: raw.query,
            content_type: raw.content_type,
            body: raw.body,
            body_size: raw.body_size,
            body_truncated: raw.body_truncated,
            status: raw.status,
            http_status: raw.http_status,
            reason: raw.reason,
            payload,
            items: raw.items,
            replay_of: raw.replay_of,
            payload_is_body,
        })
    }
}

/// A record as stored without its payload: the fields of [`RequestRecord`] in its order.
#[derive(Serialize)]
struct WithoutPayload<'a> {
    id: &'a str,
    workflow: &'a str,
    received_at: &'a str,
    method: &'a str,
    remote_addr: &'a Option<String>,
    headers: &'a [(String, String)],
    query: &'a str,
    content_type: &'a Option<String>,
    body: &'a str,
    body_size: u64,
    body_truncated: bool,
    status: ItemStatus,
    http_status: u16,
    reason: &'a Option<String>,
    items: &'a [ItemRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    replay_of: &'a Option<String>,
}

/// A request record's JSON as stored (in a page, which is compressed as a whole): without its
/// payload when that is the body's JSON.
pub(crate) fn encode_json(r: &RequestRecord) -> Vec<u8> {
    if !r.payload_is_body || r.body_truncated {
        return serde_json::to_vec(r).expect("records always serialise");
    }
    serde_json::to_vec(&WithoutPayload {
        id: &r.id,
        workflow: &r.workflow,
        received_at: &r.received_at,
        method: &r.method,
        remote_addr: &r.remote_addr,
        headers: &r.headers,
        query: &r.query,
        content_type: &r.content_type,
        body: &r.body,
        body_size: r.body_size,
        body_truncated: r.body_truncated,
        status: r.status,
        http_status: r.http_status,
        reason: &r.reason,
        items: &r.items,
        replay_of: &r.replay_of,
    })
    .expect("records always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as a store before pages kept it on its own: compressed.
    fn encode(r: &RequestRecord) -> Vec<u8> {
        crate::store::codec::compress(encode_json(r))
    }
    use crate::store::codec::{decode, json_of};
    use crate::store::test_fixtures::accepted_request;

    /// A body with what a second parse could get wrong: a byte-order mark, escapes, a number
    /// past f64, key order, nesting.
    const BODY: &str = "\u{feff}{\"z\": 1, \"a\": \"\\u00e9\\n\\\"\", \"n\": 123456789012345678901234567890.50, \"deep\": [{\"k\": [true, null, -0.0]}]}";

    fn from_body() -> RequestRecord {
        let mut r = accepted_request("01A", "w", "2026-12-01T00:00:00Z".into());
        r.body = BODY.into();
        r.payload = parse_strict(BODY.as_bytes()).unwrap();
        r.payload_is_body = true;
        r
    }

    #[test]
    fn a_payload_that_is_the_body_is_stored_without_it_and_read_back_the_same() {
        let record = from_body();
        let bytes = encode(&record);
        let json: serde_json::Value = serde_json::from_slice(&json_of(&bytes).unwrap()).unwrap();
        assert!(json.get("payload").is_none(), "{json}");
        assert!(bytes.len() < super::super::encode(&record).len());
        let read: RequestRecord = decode("requests", &bytes).unwrap();
        assert!(read.payload_is_body);
        assert_eq!(read.payload, record.payload);
        assert_eq!(read.payload.to_string(), record.payload.to_string());
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::to_value(&record).unwrap()
        );
        assert_eq!(
            read.payload["n"].to_string(),
            "123456789012345678901234567890.50"
        );
    }

    #[test]
    fn a_record_stored_with_its_payload_reads_that_payload_whatever_its_body() {
        // Written the old way (or replayed from a 503): the stored payload is the one read.
        let mut record = from_body();
        record.payload = serde_json::json!({"kept": "as stored"});
        record.payload_is_body = false;
        let read: RequestRecord = decode("requests", &encode(&record)).unwrap();
        assert_eq!(read.payload, serde_json::json!({"kept": "as stored"}));
        assert!(!read.payload_is_body);
        let mut null = accepted_request("01B", "w", "2026-12-01T00:00:00Z".into());
        null.payload = serde_json::Value::Null;
        let read: RequestRecord = decode("requests", &super::super::encode(&null)).unwrap();
        assert!(read.payload.is_null() && !read.payload_is_body);
    }

    #[test]
    fn a_record_without_a_payload_whose_body_does_not_parse_is_reported_corrupt() {
        let mut record = from_body();
        record.body = "{not json".into();
        let err = decode::<RequestRecord>("requests", &encode(&record)).unwrap_err();
        assert!(err.to_string().contains("01A"), "{err}");
    }
}
