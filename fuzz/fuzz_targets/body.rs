//! Inbound bodies: the hook handler's path from the bytes as sent to the payload (Content-Type
//! check, Content-Encoding, parse). Input: `CONTENT-TYPE\nCONTENT-ENCODING\nBODY`; an empty
//! line is an absent header; with fewer lines the whole input is a body without headers.
#![no_main]

use hookflow::sender::body::{decode_and_parse, query_object};
use libfuzzer_sys::fuzz_target;

/// The default `limits.max_body`.
const LIMIT: u64 = 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let (content_type, encoding, body) = match (parts.next(), parts.next(), parts.next()) {
        (Some(ct), Some(enc), Some(body)) => (header(ct), header(enc), body),
        _ => (None, None, data),
    };
    let query = String::from_utf8_lossy(body);
    let parsed = decode_and_parse(content_type.as_deref(), encoding.as_deref(), body, &query, LIMIT);
    if let Ok((decoded, payload)) = parsed {
        assert!(decoded.len() as u64 <= LIMIT, "decoded past the limit");
        // Whatever was accepted is stored as JSON and read back.
        let text = serde_json::to_string(&payload).expect("a payload serialises");
        let back: serde_json::Value = serde_json::from_str(&text).expect("and parses back");
        assert_eq!(back, payload);
    }
    let _ = query_object(&query);
});

fn header(line: &[u8]) -> Option<String> {
    (!line.is_empty()).then(|| String::from_utf8_lossy(line).into_owned())
}
