use crate::sender::fields::{flatten, Field, MAX_FIELDS};
use jsonpath_rust::JsonPath;
use proptest::prelude::*;
use serde_json::{json, Value};

fn paths(v: &Value) -> Vec<String> {
    flatten(v).into_iter().map(|f| f.path).collect()
}

#[test]
fn leaves_come_in_document_order_with_dotted_paths() {
    let v = json!({
        "firstName": "Ada",
        "data": {"member_id": "60610", "provider_id": null},
        "invoice": {"line_items": [{"total": 25.5}, {"total": 10}]},
    });
    assert_eq!(
        flatten(&v),
        vec![
            Field {
                path: "$.firstName".into(),
                value: json!("Ada")
            },
            Field {
                path: "$.data.member_id".into(),
                value: json!("60610")
            },
            Field {
                path: "$.data.provider_id".into(),
                value: Value::Null
            },
            Field {
                path: "$.invoice.line_items[0].total".into(),
                value: json!(25.5)
            },
            Field {
                path: "$.invoice.line_items[1].total".into(),
                value: json!(10)
            },
        ]
    );
}

#[test]
fn a_top_level_array_uses_indexes() {
    let v = json!([{"participant": {"email": "a@x.com"}}]);
    assert_eq!(paths(&v), ["$[0].participant.email"]);
}

#[test]
fn empty_containers_and_scalars_are_leaves() {
    let v = json!({"tags": [], "custom": {}, "n": 0});
    assert_eq!(
        flatten(&v)
            .into_iter()
            .map(|f| (f.path, f.value))
            .collect::<Vec<_>>(),
        vec![
            ("$.tags".to_string(), json!([])),
            ("$.custom".to_string(), json!({})),
            ("$.n".to_string(), json!(0)),
        ]
    );
    assert_eq!(paths(&json!("x")), ["$"]);
    assert_eq!(paths(&json!({})), ["$"]);
}

#[test]
fn keys_that_are_not_identifiers_use_brackets() {
    let v = json!({
        "@type": 1, "$insert_id": 2, "first name": 3, "it's": 4, "a\\b": 5,
        "1st": 6, "_ok9": 7, "": 8, "line\nbreak": 9, "é": 10,
    });
    assert_eq!(
        paths(&v),
        [
            "$['@type']",
            "$['$insert_id']",
            "$['first name']",
            "$['it\\'s']",
            "$['a\\\\b']",
            "$['1st']",
            "$._ok9",
            "$['']",
            "$['line\\nbreak']",
            "$['é']",
        ]
    );
}

#[test]
fn the_list_is_capped() {
    let big = Value::Array((0..MAX_FIELDS + 50).map(|i| json!(i)).collect());
    let fields = flatten(&big);
    assert_eq!(fields.len(), MAX_FIELDS);
    assert_eq!(
        fields.last().unwrap().path,
        format!("$[{}]", MAX_FIELDS - 1)
    );
}

#[test]
fn fields_serialize_as_path_and_value() {
    let f = Field {
        path: "$.a".into(),
        value: json!(1),
    };
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"path": "$.a", "value": 1})
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,6}".prop_map(Value::String),
    ];
    // Keys mix identifiers with anything at all: quotes, backslashes, controls, non-ASCII.
    let key = prop_oneof![
        "[a-z_][a-z0-9_]{0,5}",
        ".{0,6}",
        "[\\x00-\\x1f'\"\\\\@$ .\\[\\]]{0,4}"
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Every path, evaluated by the JSONPath engine workflows use, selects exactly its leaf.
    #[test]
    fn every_path_selects_exactly_its_leaf(v in arb_json()) {
        for field in flatten(&v) {
            let found = v.query(&field.path);
            prop_assert!(found.is_ok(), "{} does not parse: {:?}", field.path, found);
            prop_assert_eq!(found.unwrap(), vec![&field.value], "path {}", field.path);
        }
    }
}
