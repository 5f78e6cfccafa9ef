use crate::sender::body::{check_content_type, decode_and_parse, Decoded, PayloadError};
use crate::sender::encoding::{codings, decode, Coding, DecodeError};
use crate::sender::strict_json::parse_strict;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn codings_are_read_in_order_and_unknown_ones_are_named() {
    assert_eq!(codings(None), Ok(vec![]));
    assert_eq!(
        codings(Some("gzip, identity, Deflate")),
        Ok(vec![Coding::Gzip, Coding::Deflate])
    );
    assert_eq!(codings(Some("x-gzip")), Ok(vec![Coding::Gzip]));
    assert_eq!(
        codings(Some("gzip, br")),
        Err(DecodeError::Unsupported("br".into()))
    );
}

#[test]
fn decoding_stops_one_byte_past_the_limit() {
    let body = gzip(&[b'a'; 100]);
    assert_eq!(decode(&[Coding::Gzip], &body, 100).unwrap().len(), 100);
    assert_eq!(
        decode(&[Coding::Gzip], &body, 99),
        Err(DecodeError::TooLarge { limit: 99 })
    );
    // Stacked codings are undone last first, each within the limit.
    let twice = zlib(&gzip(b"{}"));
    let out = decode(&[Coding::Gzip, Coding::Deflate], &twice, 64).unwrap();
    assert_eq!(&out[..], b"{}");
}

#[test]
fn a_content_type_is_checked_for_syntax_and_charset() {
    assert!(check_content_type(None).is_ok());
    assert!(check_content_type(Some("application/json; charset=\"UTF-8\"")).is_ok());
    for bad in [";;;", "application/json; charset=windows-1252", "json"] {
        assert!(
            matches!(
                check_content_type(Some(bad)),
                Err(PayloadError::UnsupportedMediaType(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_decoded_body_is_parsed_like_a_plain_one() {
    let body = gzip(br#"{"a": 1}"#);
    let decoded =
        decode_and_parse(Some("application/json"), Some("gzip"), &body, "", 1024).unwrap();
    assert_eq!(&decoded.body[..], br#"{"a": 1}"#);
    assert_eq!(decoded.payload, json!({"a": 1}));
    assert!(decoded.payload_is_body);
}

/// Content types worth trying: the accepted ones, broken ones and other charsets.
fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_string())),
        Just(Some("application/x-www-form-urlencoded".to_string())),
        Just(Some("text/plain; charset=utf-8".to_string())),
        Just(Some("application/json; charset=latin1".to_string())),
        Just(Some(";;;".to_string())),
        "[ -~]{0,24}".prop_map(Some),
    ]
}

fn content_encoding() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("gzip".to_string())),
        Just(Some("deflate".to_string())),
        Just(Some("br".to_string())),
        "[ -~]{0,12}".prop_map(Some),
    ]
}

/// Bytes that are sometimes valid JSON or forms, sometimes not, sometimes compressed.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let plain = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        "[ -~]{0,64}".prop_map(String::into_bytes),
        Just(br#"[{"a": 1}, {"b": [2, 3]}]"#.to_vec()),
        Just(b"a=%FF%FE&b=%41".to_vec()),
    ];
    (plain, 0..3u8).prop_map(|(bytes, wrap)| match wrap {
        0 => gzip(&bytes),
        1 => zlib(&bytes),
        _ => bytes,
    })
}

proptest! {
    /// Arbitrary bytes under arbitrary types and codings never panic the parser; a success is
    /// always an object or an array of objects within the limit, a failure always a 4xx.
    #[test]
    fn the_body_parser_never_panics_and_fails_only_with_4xx(
        ct in content_type(),
        ce in content_encoding(),
        bytes in body(),
        limit in 0u64..512,
    ) {
        match decode_and_parse(ct.as_deref(), ce.as_deref(), &bytes, "q=1", limit) {
            Ok(Decoded { body: decoded, payload, payload_is_body }) => {
                prop_assert!(decoded.len() as u64 <= limit.max(bytes.len() as u64));
                if payload_is_body {
                    // The request log stores only the body then: it must parse back to this.
                    prop_assert_eq!(&parse_strict(&decoded).unwrap(), &payload);
                }
                let items_ok = match &payload {
                    Value::Object(_) => true,
                    Value::Array(items) => items.iter().all(Value::is_object),
                    _ => false,
                };
                prop_assert!(items_ok, "{payload}");
            }
            Err(e) => prop_assert!(matches!(e.status(), 400 | 413 | 415), "{e:?}"),
        }
    }
}
