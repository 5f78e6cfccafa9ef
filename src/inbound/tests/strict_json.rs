use crate::inbound::strict_json::{parse_strict, JsonErrorKind, MAX_DEPTH};
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
    let v = parse_strict(br#"{"i": -3, "u": 18446744073709551615, "f": 2.5, "big": 1e400}"#);
    // 1e400 overflows f64: serde_json itself refuses it.
    assert!(v.is_err());
    let v = parse_strict(br#"{"i": -3, "u": 18446744073709551615, "f": 2.5}"#).unwrap();
    assert_eq!(v["i"].as_i64(), Some(-3));
    assert_eq!(v["u"].as_u64(), Some(u64::MAX));
    assert_eq!(v["f"].as_f64(), Some(2.5));
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
