//! JSONPath into payload items: compiled at load (so a typo is a load error), evaluated per item
//! for `mapping`, `split` and `dedupe`.

use super::model::MappingEntry;
use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// Parses a JSONPath; the error says what is wrong and shows the expected form.
pub fn compile(path: &str) -> Result<JpQuery, String> {
    if !path.starts_with('$') {
        return Err(format!(
            "JSONPath `{path}` must start with `$` (e.g. `$.email`, `$['@type']`)"
        ));
    }
    let depth = nesting(path);
    if depth > MAX_NESTING {
        // jsonpath-rust's parser backtracks: its time grows about threefold with each nested
        // filter, so a path nested 16 deep takes seconds to load (found by fuzzing).
        return Err(format!(
            "JSONPath `{path}` nests brackets and parentheses {depth} deep; at most \
             {MAX_NESTING} are allowed: split the filter or map a shallower path"
        ));
    }
    parse_json_path(path)
        .map_err(|e| format!("invalid JSONPath `{path}`: {}", one_line(&e.to_string())))
}

/// How deep `[` and `(` may nest in a path: real mappings use one or two levels.
const MAX_NESTING: usize = 10;

/// The deepest nesting of `[` and `(` outside quoted names.
fn nesting(path: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']' | ')') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    deepest
}

/// The parser's multi-line report (` --> 1:18`, a caret drawing, `= expected x`) as one line:
/// `expected x at character 18`, since every diagnostic is one line.
fn one_line(report: &str) -> String {
    let at = report
        .split_once("-->")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|lc| lc.rsplit(':').next())
        .and_then(|c| c.parse::<usize>().ok());
    let expected = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .map(str::trim);
    match (expected, at) {
        (Some(what), Some(c)) => format!("{what} at character {c}"),
        _ => report.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// True when the path can match at most one node: only names and indexes, one per segment.
pub fn is_single(query: &JpQuery) -> bool {
    let plain = |s: &Selector| matches!(s, Selector::Name(_) | Selector::Index(_));
    query.segments.iter().all(|seg| match seg {
        Segment::Selector(s) => plain(s),
        Segment::Selectors(v) => v.len() == 1 && plain(&v[0]),
        Segment::Descendant(_) => false,
    })
}

/// Every node `path` matches in `value`, in document order.
pub fn select(path: &str, value: &Value) -> Result<Vec<Value>, String> {
    let query = compile(path)?;
    let found =
        js_path_process(&query, value).map_err(|e| format!("JSONPath `{path}` failed: {e}"))?;
    Ok(found.into_iter().map(|r| r.val.clone()).collect())
}

/// A mapping entry's value for one item: the value or `null` for a single-node path, else an
/// array of every match.
pub fn evaluate(entry: &MappingEntry, item: &Value) -> Value {
    // Paths were compiled at load, so an error here can only mean "nothing matched".
    let found: Vec<Value> = js_path_process(&entry.query, item)
        .map(|found| found.into_iter().map(|r| r.val.clone()).collect())
        .unwrap_or_default();
    if entry.single {
        found.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::model::Pos;
    use serde_json::json;

    fn entry(path: &str) -> MappingEntry {
        let query = compile(path).unwrap();
        MappingEntry {
            name: "x".into(),
            path: path.into(),
            single: is_single(&query),
            query: std::sync::Arc::new(query),
            pos: Pos::default(),
        }
    }

    #[test]
    fn single_paths_are_told_apart_from_multi_paths() {
        for p in ["$.email", "$['@type']", "$.items[0].sku", "$['$insert_id']"] {
            assert!(entry(p).single, "{p}");
        }
        for p in [
            "$.items[*].sku",
            "$..email",
            "$.items[0:2]",
            "$.items[?@.qty > 1]",
            "$['a','b']",
        ] {
            assert!(!entry(p).single, "{p}");
        }
    }

    #[test]
    fn single_gives_the_value_or_null_and_wildcards_give_arrays() {
        let item = json!({"email": "ann@example.com", "@type": "Booking",
                          "items": [{"sku": "A"}, {"sku": "B"}]});
        assert_eq!(evaluate(&entry("$.email"), &item), json!("ann@example.com"));
        assert_eq!(evaluate(&entry("$['@type']"), &item), json!("Booking"));
        assert_eq!(evaluate(&entry("$.phone"), &item), Value::Null);
        assert_eq!(evaluate(&entry("$.items[*].sku"), &item), json!(["A", "B"]));
        assert_eq!(evaluate(&entry("$.missing[*]"), &item), json!([]));
    }

    #[test]
    fn a_path_nested_deeper_than_the_parser_handles_quickly_is_refused_at_once() {
        assert!(compile("$.items[?@.a[?@.b[?@.c > 1]]]").is_ok());
        assert!(
            compile("$['[[[[[[[[[[[[']").is_ok(),
            "brackets inside a name do not nest"
        );
        // The fuzzer's slow input: before the limit, compiling it took seconds.
        let deep = format!("$.a{}{}", "[?any_of(@[?$.a".repeat(16), ")]]".repeat(16));
        let err = compile(&deep).unwrap_err();
        assert!(err.contains("48 deep; at most 10"), "{err}");
    }

    #[test]
    fn invalid_paths_are_rejected_with_the_path_in_the_message() {
        assert!(compile("email")
            .unwrap_err()
            .contains("must start with `$`"));
        assert!(compile("$.items[")
            .unwrap_err()
            .contains("invalid JSONPath `$.items[`"));
        assert_eq!(
            compile("$.items[?@.qty > ]").unwrap_err(),
            "invalid JSONPath `$.items[?@.qty > ]`: expected comparable at character 18"
        );
    }

    #[test]
    fn select_splits_arrays() {
        let payload = json!([{"id": 1}, {"id": 2}]);
        assert_eq!(
            select("$[*]", &payload).unwrap(),
            vec![json!({"id": 1}), json!({"id": 2})]
        );
    }
}
