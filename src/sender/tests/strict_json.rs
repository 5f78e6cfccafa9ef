use crate::sender::strict_json::{parse_strict, JsonErrorKind, MAX_DEPTH};
use proptest::prelude::*;
use serde_json::{json, Value};

fn error(body: &str) -> (JsonErrorKind, String) {
    let e = parse_strict(body.as_bytes()).unwrap_err();
    (e.kind, e.message)
}

/// `n` objects nested in each other: `{"a":{"a":{}}}` for 3.
fn nested_objects(n: usize) -> String {
    format!("{}{{}}{}", "{\"a\":".repeat(n - 1), "}".repeat(n - 1))
}

#[test]
fn keeps_key_order() {
    let v = parse_strict(br#"{"z": 1, "a": 2, "m": {"y": 3, "b": 4}}"#).unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["z", "a", "m"]);
    let inner: Vec<_> = v["m"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(inner, ["y", "b"]);
}

#[test]
fn a_duplicate_key_is_placed_at_its_opening_quote() {
    let body = "{\n  \"email\": \"a@x.com\",\n  \"email\": \"b@x.com\"\n}";
    assert_eq!(
        error(body),
        (
            JsonErrorKind::Strictness,
            "duplicate key \"email\" at line 3, column 3 — each key may appear once per object"
                .to_string()
        )
    );
}

#[test]
fn a_nested_duplicate_key_is_found_with_whitespace_before_the_colon() {
    let body = "{\"a\": {\"b\": 1, \"c\": [{\"x\": 1, \"x\" : 2}]}}";
    let (kind, message) = error(body);
    assert_eq!(kind, JsonErrorKind::Strictness);
    assert_eq!(
        message,
        "duplicate key \"x\" at line 1, column 31 — each key may appear once per object"
    );
}

#[test]
fn a_duplicate_key_with_escapes_is_quoted_and_placed() {
    let body = r#"{"a\"b": 1, "a\"b": 2}"#;
    assert!(error(body)
        .1
        .starts_with(r#"duplicate key "a\"b" at line 1, column 13"#));
}

#[test]
fn the_same_key_in_sibling_objects_is_fine() {
    assert!(parse_strict(br#"[{"email": 1}, {"email": 2}]"#).is_ok());
}

#[test]
fn nesting_of_64_is_accepted_and_65_is_refused_at_the_bracket() {
    assert_eq!(MAX_DEPTH, 64);
    assert!(parse_strict(nested_objects(64).as_bytes()).is_ok());
    let (kind, message) = error(&nested_objects(65));
    assert_eq!(kind, JsonErrorKind::Strictness);
    // The 65th `{` is at column 64 * 5 + 1.
    assert_eq!(
        message,
        "JSON nested deeper than 64 levels at line 1, column 321; flatten the payload"
    );
    let arrays = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert!(error(&arrays).1.contains("column 65;"));
    let spaced = format!("{} {{ \"k\": 1 }}{}", "{\"a\":".repeat(64), "}".repeat(64));
    assert!(
        error(&spaced).1.contains("column 322;"),
        "{}",
        error(&spaced).1
    );
}

#[test]
fn syntax_errors_say_where_and_why() {
    assert_eq!(
        error("{\"a\": 1,\n  // note\n  \"b\": 2}"),
        (
            JsonErrorKind::Syntax,
            "invalid JSON at line 2, column 3: key must be a string — comments are not allowed in JSON"
                .to_string()
        )
    );
    assert_eq!(
        error("{\"a\": 1,}").1,
        "invalid JSON at line 1, column 9: trailing comma"
    );
    assert_eq!(
        error("{'a': 1}").1,
        "invalid JSON at line 1, column 2: key must be a string — JSON strings and keys use double quotes"
    );
    assert_eq!(
        error("{\"a\": \n").1,
        "invalid JSON at line 2, column 1: EOF while parsing a value — the body ends before the \
         JSON is complete (was it cut off?)"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    // "é" is two bytes; the bad key `x` is the 13th character.
    assert_eq!(
        error("{\"né\": \"é\", x}").1,
        "invalid JSON at line 1, column 13: key must be a string — text must be in double quotes"
    );
}

#[test]
fn trailing_data_is_refused_but_trailing_whitespace_is_not() {
    assert!(parse_strict(b"{\"a\": 1}  \r\n\t").is_ok());
    assert_eq!(
        error("{\"a\": 1} {\"b\": 2}").1,
        "invalid JSON at line 1, column 10: trailing characters — a body holds exactly one JSON value"
    );
}

#[test]
fn invalid_utf8_is_refused_with_its_position() {
    let e = parse_strict(b"{\"a\":\n \"\xff\"}").unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::NotUtf8);
    assert_eq!(
        e.message,
        "body is not valid UTF-8 at line 2, column 3; send JSON encoded as UTF-8"
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    assert_eq!(
        parse_strict("\u{feff}{\"a\": 1}".as_bytes()).unwrap(),
        json!({"a": 1})
    );
}

#[test]
fn numbers_keep_their_kind() {
    let v = parse_strict(br#"{"i": -3, "u": 18446744073709551615, "f": 2.5}"#).unwrap();
    assert_eq!(v["i"].as_i64(), Some(-3));
    assert_eq!(v["u"].as_u64(), Some(u64::MAX));
    assert_eq!(v["f"].as_f64(), Some(2.5));
}

#[test]
fn numbers_keep_every_digit_as_sent() {
    let body = br#"{"id": 123456789012345678901234567890, "total": 12.50,
        "p": 0.1000000000000000055511151231257827, "huge": 1e400, "neg": -0}"#;
    let v = parse_strict(body).unwrap();
    let text = |k: &str| v[k].as_number().unwrap().as_str().to_owned();
    assert_eq!(text("id"), "123456789012345678901234567890");
    assert_eq!(text("total"), "12.50");
    assert_eq!(text("p"), "0.1000000000000000055511151231257827");
    // Past f64's range, but still the number that was sent (serde_json writes `e+`).
    assert_eq!(text("huge"), "1e+400");
    assert_eq!(text("neg"), "-0");
    assert_eq!(
        v.to_string(),
        r#"{"id":123456789012345678901234567890,"total":12.50,"p":0.1000000000000000055511151231257827,"huge":1e+400,"neg":-0}"#
    );
}

#[test]
fn a_number_in_the_deepest_container_is_not_one_level_too_deep() {
    let deepest = format!("{}{{\"n\": 12.50}}{}", "{\"a\":".repeat(63), "}".repeat(63));
    let v = parse_strict(deepest.as_bytes()).unwrap();
    assert!(v.to_string().contains("12.50"));
    let in_array = format!("{}12.50{}", "[".repeat(64), "]".repeat(64));
    assert!(parse_strict(in_array.as_bytes()).is_ok());
    let with_key = format!("{}{{\"n\": 1}}{}", "{\"a\":".repeat(64), "}".repeat(64));
    assert!(error(&with_key).1.contains("column 321;"));
}

#[test]
fn duplicate_keys_are_still_found_among_numbers() {
    let (kind, message) = error(r#"{"id": 1, "id": 123456789012345678901234567890}"#);
    assert_eq!(kind, JsonErrorKind::Strictness);
    assert!(message.starts_with("duplicate key \"id\" at line 1, column 11"));
}

#[test]
fn serde_jsons_private_number_key_holds_only_numbers() {
    let (kind, message) = error(r#"{"$serde_json::private::Number": "abc"}"#);
    assert_eq!(kind, JsonErrorKind::Syntax);
    assert!(message.contains("is reserved for numbers"), "{message}");
    assert!(parse_strict(br#"{"$serde_json::private::Number": "1", "b": 2}"#).is_err());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-4000i32..4000).prop_map(|n| json!(f64::from(n) / 4.0)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,6}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Anything serde_json writes (which never repeats a key) reads back identically.
    #[test]
    fn strict_parsing_agrees_with_serde_json_on_valid_documents(v in arb_json()) {
        let text = serde_json::to_string_pretty(&v).unwrap();
        prop_assert_eq!(parse_strict(text.as_bytes()).unwrap(), v);
    }
}
