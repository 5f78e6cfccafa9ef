use crate::sender::body::{default_split, parse_payload, query_object, PayloadError};
use serde_json::json;

/// The v2 `visit.note.signed_and_sent` sample of the telehealth sender's documentation (seed 003),
/// verbatim: its indentation is non-breaking spaces, it has an unquoted `xxx` and a `//` comment.
const TELEHEALTH_V2_NOTE: &str =
    "{ \"version\": \"2.0\", \"id\": \"5c34979c-30dc-496c-8cd3-6eb9925862c1\", \
     \u{a0}\u{a0}\u{a0}\"type\": \"visit.note.signed_and_sent\", \
     \u{a0}\u{a0}\u{a0}\"created\": 1546950556, \
     \u{a0}\u{a0}\u{a0}\"clinic_code\": \"xxx\", \
     \u{a0}\u{a0}\u{a0}\"data\": { \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"id\": \"28540\", \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"member_id\": \"60610\", \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"provider_id\": null, \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"start\": 1546950546, \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"end\": 1546951446, \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"actual_start\": 1546950546, \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"actual_end\": 1546950555, \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"status\": \"completed\", \
     \u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\"status_updated_by\": \"60610\", \
     \"note\": { \"id\": xxx, \"status\": \"signed\" // new, signed, \
     draft } \u{a0}\u{a0}\u{a0}} }";

const JSON: Option<&str> = Some("application/json");

fn bad_request(content_type: Option<&str>, body: &str) -> String {
    match parse_payload(content_type, body.as_bytes(), "") {
        Err(PayloadError::BadRequest(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    }
}

fn unsupported(content_type: Option<&str>, body: &str) -> String {
    match parse_payload(content_type, body.as_bytes(), "") {
        Err(e @ PayloadError::UnsupportedMediaType(_)) => {
            assert_eq!(e.status(), 415);
            e.to_string()
        }
        other => panic!("expected a 415, got {other:?}"),
    }
}

#[test]
fn a_json_object_is_the_payload() {
    let v = parse_payload(
        JSON,
        br#"{"firstName": "Ada", "email": "ada@x.com"}"#,
        "src=GHL",
    );
    assert_eq!(
        v.unwrap(),
        json!({"firstName": "Ada", "email": "ada@x.com"})
    );
}

#[test]
fn json_media_types_with_parameters_and_suffixes_are_json() {
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.embodia+json",
        "application/cloudevents+json; charset=UTF-8",
    ] {
        assert_eq!(
            parse_payload(Some(ct), br#"{"a": 1}"#, "").unwrap(),
            json!({"a": 1}),
            "{ct}"
        );
    }
}

#[test]
fn the_embodia_array_is_kept_as_an_array_and_split_per_element() {
    let body = br#"[
      {"event": "participant.added", "consult": {"id": 1, "cancelled": false},
       "participant": {"id": 7, "name": "Ada", "email": "ada@x.com"}},
      {"event": "consult.updated", "consult": {"id": 1, "duration": 45}}
    ]"#;
    let payload = parse_payload(JSON, body, "").unwrap();
    let items = default_split(payload);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["participant"]["email"], "ada@x.com");
    assert_eq!(items[1]["event"], "consult.updated");
}

#[test]
fn default_split_keeps_an_object_whole() {
    assert_eq!(
        default_split(json!({"a": [1, 2]})),
        vec![json!({"a": [1, 2]})]
    );
    assert_eq!(default_split(json!([])), Vec::<serde_json::Value>::new());
}

#[test]
fn a_scalar_or_an_array_of_non_objects_is_refused() {
    assert_eq!(
        bad_request(JSON, "42"),
        "the JSON body is a number; send an object or an array of objects"
    );
    assert_eq!(
        bad_request(JSON, "\"hi\""),
        "the JSON body is a string; send an object or an array of objects"
    );
    assert_eq!(
        bad_request(JSON, r#"[{"a": 1}, "x"]"#),
        "element $[1] of the top-level array is a string; a top-level array must hold only \
         objects, one per item"
    );
}

#[test]
fn an_empty_array_is_accepted_with_no_items() {
    assert_eq!(parse_payload(JSON, b"[]", "").unwrap(), json!([]));
}

#[test]
fn the_telehealth_sample_is_refused_where_it_first_breaks() {
    assert_eq!(
        bad_request(JSON, TELEHEALTH_V2_NOTE),
        "invalid JSON at line 1, column 67: key must be a string — a non-breaking space (U+00A0) \
         is not JSON whitespace; was this copied from a web page?"
    );
    let spaced = TELEHEALTH_V2_NOTE.replace('\u{a0}', " ");
    assert_eq!(
        bad_request(JSON, &spaced),
        "invalid JSON at line 1, column 456: expected value — text must be in double quotes"
    );
    let quoted = spaced.replace("\"id\": xxx", "\"id\": \"xxx\"");
    assert_eq!(
        bad_request(JSON, &quoted),
        "invalid JSON at line 1, column 482: expected `,` or `}` — comments are not allowed in JSON"
    );
}

#[test]
fn duplicate_keys_and_deep_nesting_are_400_even_without_a_content_type() {
    let dup = "{\"a\": {\"email\": 1,\n \"email\": 2}}";
    let expected =
        "duplicate key \"email\" at line 2, column 2 — each key may appear once per object";
    assert_eq!(bad_request(JSON, dup), expected);
    assert_eq!(bad_request(None, dup), expected);
    let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert!(bad_request(None, &deep).starts_with("JSON nested deeper than 64 levels"));
}

#[test]
fn the_kivicare_form_body_is_an_object_of_strings() {
    let body =
        "To=%2B15551234567&From=%2B15557654321&Body=Hi+Ada%2C+your+appointment+with+Dr.+Lee+\
                is+confirmed+for+2025-03-01+at+10%3A00.+See+you+at+Main+St+Clinic%21";
    let v = parse_payload(
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        body.as_bytes(),
        "",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({
            "To": "+15551234567",
            "From": "+15557654321",
            "Body": "Hi Ada, your appointment with Dr. Lee is confirmed for 2025-03-01 at 10:00. \
                     See you at Main St Clinic!"
        })
    );
}

#[test]
fn repeated_form_keys_keep_every_value_in_order() {
    let v = parse_payload(
        Some("application/x-www-form-urlencoded"),
        b"tag=a&name=x&tag=b&tag=c",
        "",
    );
    assert_eq!(v.unwrap(), json!({"tag": ["a", "b", "c"], "name": "x"}));
}

#[test]
fn text_plain_holding_json_is_json_and_other_text_is_400() {
    let plain = Some("text/plain; charset=utf-8");
    assert_eq!(
        parse_payload(plain, br#"{"a": 1}"#, "").unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        bad_request(plain, "hello there"),
        "text/plain body is not JSON (invalid JSON at line 1, column 1: expected value — text \
         must be in double quotes); hookflow reads text/plain only when it holds JSON"
    );
    assert!(bad_request(plain, "{\"a\": 1, \"a\": 2}").starts_with("duplicate key \"a\""));
}

#[test]
fn an_empty_body_is_the_query_whatever_the_content_type() {
    for ct in [None, JSON, Some("application/xml")] {
        assert_eq!(
            parse_payload(ct, b"", "?email=ada%40x.com&src=GHL").unwrap(),
            json!({"email": "ada@x.com", "src": "GHL"})
        );
        assert_eq!(parse_payload(ct, b"", "").unwrap(), json!({}));
    }
}

#[test]
fn no_content_type_tries_json_and_otherwise_is_415() {
    assert_eq!(
        parse_payload(None, br#"{"a": 1}"#, "").unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        parse_payload(Some(""), br#"{"a": 1}"#, "").unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        unsupported(None, "a=1&b=2"),
        "no Content-Type header and the body is not JSON (invalid JSON at line 1, column 1: \
         expected value — text must be in double quotes); send application/json, \
         application/x-www-form-urlencoded, or text/plain holding JSON"
    );
}

#[test]
fn other_media_types_are_415_naming_the_type() {
    assert_eq!(
        unsupported(Some("application/xml"), "<a/>"),
        "unsupported Content-Type \"application/xml\"; send application/json, \
         application/x-www-form-urlencoded, or text/plain holding JSON"
    );
    assert!(unsupported(Some("multipart/form-data; boundary=x"), "--x")
        .contains("\"multipart/form-data\""));
}

#[test]
fn invalid_utf8_json_is_400() {
    let e = parse_payload(JSON, b"{\"a\": \"\xc3\x28\"}", "").unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e
        .to_string()
        .starts_with("body is not valid UTF-8 at line 1, column 8"));
}

#[test]
fn query_object_decodes_and_groups_repeats() {
    assert_eq!(query_object(""), json!({}));
    assert_eq!(
        query_object("src=GHL&tag=a&tag=b&empty=&flag"),
        json!({"src": "GHL", "tag": ["a", "b"], "empty": "", "flag": ""})
    );
    assert_eq!(query_object("?q=a+b%20c"), json!({"q": "a b c"}));
}

proptest::proptest! {
    /// Any form a sender writes reads back as the same names and values (distinct names).
    #[test]
    fn form_bodies_roundtrip(pairs in proptest::collection::btree_map(".{0,8}", ".{0,12}", 1..6)) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let parsed = parse_payload(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            "",
        )
        .unwrap();
        let expected: serde_json::Map<String, serde_json::Value> =
            pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
        proptest::prop_assert_eq!(parsed, serde_json::Value::Object(expected));
    }

    /// Repeating any key of an object is always a 400 naming that key at its second place.
    #[test]
    fn any_repeated_key_is_refused(key in ".{0,8}", other in "[a-z]{1,4}") {
        proptest::prop_assume!(key != other);
        let quoted = serde_json::to_string(&key).unwrap();
        let body = format!("{{\"x\": {{{quoted}: 1, \"{other}\": 2, {quoted}: 3}}}}");
        let column = body.chars().count() - quoted.chars().count() - 4;
        proptest::prop_assert_eq!(
            bad_request(JSON, &body),
            format!(
                "duplicate key {quoted} at line 1, column {column} — each key may appear once per object"
            )
        );
    }
}

/// Found by `fuzz/` (body target): a number past f64's range of exact integers came back
/// different after the payload was stored as JSON and read again.
#[test]
fn an_accepted_payload_reads_back_the_same_after_it_is_stored() {
    let body = br#"{"start": 111111111111546950546, "f": 1.1111111111154696e+20}"#;
    let payload = parse_payload(JSON, body, "").unwrap();
    let stored = serde_json::to_string(&payload).unwrap();
    assert_eq!(
        stored,
        r#"{"start":111111111111546950546,"f":1.1111111111154696e+20}"#
    );
    let back: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, payload);
}

#[test]
fn a_body_is_json_exactly_when_its_payload_is_the_strict_parse_of_it() {
    use crate::sender::body::decode_and_parse;
    use crate::sender::strict_json::parse_strict;
    let parse = |ct: Option<&str>, body: &[u8], query: &str| {
        let d = decode_and_parse(ct, None, body, query, 1 << 20).unwrap();
        (d.payload, d.payload_is_body)
    };
    let object = "{\"a\": [1, 2.50, \"\\u00e9\"]}";
    let json_kinds = [
        None,
        Some("application/json"),
        Some("Application/JSON; charset=utf-8"),
        Some("application/vnd.api+json"),
        Some("text/plain"),
        Some(""),
    ];
    for content_type in json_kinds {
        let (payload, is_body) = parse(content_type, object.as_bytes(), "x=1");
        assert!(is_body, "{content_type:?}");
        assert_eq!(payload, parse_strict(object.as_bytes()).unwrap());
    }
    // A form, or an empty body (the query is the payload): the payload is not the body's JSON.
    let form = Some("application/x-www-form-urlencoded");
    assert_eq!(parse(form, b"a=1", ""), (json!({"a": "1"}), false));
    assert_eq!(parse(JSON, b"", "x=1"), (json!({"x": "1"}), false));
}
