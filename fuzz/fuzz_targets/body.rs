//! Inbound bodies: the hook handler's parser, under any Content-Type and bytes.
//! Input: `CONTENT-TYPE\nBODY` (no newline: the whole input is a body without a content type).
#![no_main]

use hookflow::inbound::body::{parse_payload, query_object};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (Some(String::from_utf8_lossy(&data[..i]).into_owned()), &data[i + 1..]),
        None => (None, data),
    };
    let query = String::from_utf8_lossy(body);
    if let Ok(payload) = parse_payload(content_type.as_deref(), body, &query) {
        // Whatever was accepted is stored as JSON and read back.
        let text = serde_json::to_string(&payload).expect("a payload serialises");
        let back: serde_json::Value = serde_json::from_str(&text).expect("and parses back");
        assert_eq!(back, payload);
    }
    let _ = query_object(&query);
});
