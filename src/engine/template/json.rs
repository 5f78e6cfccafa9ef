//! JSON ↔ minijinja values.
//!
//! minijinja is built without its `serde` feature, so payloads are shared with templates through
//! [`JsonNode`], an object that points into one `Arc`'d JSON document. Nothing is copied until a
//! template reads a value, object keys keep their order, and a whole object or array that a
//! template hands back (`{{ trigger.address }}`) is cloned from the original JSON, so its numbers
//! keep their exact form.
//!
//! Numbers are kept as sent (serde_json's `arbitrary_precision`), but minijinja's numbers are
//! 64/128-bit integers and f64. An integer that fits 128 bits is a minijinja integer. Any other
//! number (`12.50`, `1e+3`, `0.1000000000000000055511151231257827`, 40 digits) is the nearest f64,
//! so comparisons and arithmetic work as they always did, and its text is kept in
//! [`ExactNumbers`]: wherever that very float is printed or handed back, the sender's text is
//! used instead of the float's shortest form.

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as MjValue, ValueKind};
use minijinja::State;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The hidden root name under which a render's [`ExactNumbers`] are found (by the formatter).
const EXACT: &str = "__hookflow_exact_numbers";

/// The text of every non-integer number of a context, by the bits of the f64 standing in for
/// it; `None` where two different texts share one float (`12.5` and `12.50`), which then print
/// as the float does.
#[derive(Debug, Default)]
pub(super) struct ExactNumbers(HashMap<u64, Option<Arc<str>>>);

impl Object for ExactNumbers {}

impl ExactNumbers {
    /// Records every float-backed number in `v`.
    fn collect(&mut self, v: &Value) {
        match v {
            Value::Number(n) => {
                if let Native::Float(f) = native(n) {
                    let text = n.as_str();
                    self.0
                        .entry(f.to_bits())
                        .and_modify(|known| {
                            if known.as_deref() != Some(text) {
                                *known = None
                            }
                        })
                        .or_insert_with(|| Some(Arc::from(text)));
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.collect(i)),
            Value::Object(m) => m.values().for_each(|i| self.collect(i)),
            Value::Null | Value::Bool(_) | Value::String(_) => {}
        }
    }

    /// The sender's text for `v` when `v` is a float standing in for a number of the context.
    pub(super) fn text(&self, v: &MjValue) -> Option<&str> {
        if v.kind() != ValueKind::Number || v.is_integer() {
            return None;
        }
        let f = f64::try_from(v.clone()).ok()?;
        self.0.get(&f.to_bits())?.as_deref()
    }

    /// The numbers of the render that `state` belongs to (empty outside one).
    pub(super) fn of(state: &State) -> Arc<ExactNumbers> {
        state
            .lookup(EXACT)
            .and_then(|v| v.downcast_object::<ExactNumbers>())
            .unwrap_or_default()
    }
}

/// One step from a parent JSON value to a child.
#[derive(Debug, Clone)]
enum Seg {
    Key(Arc<str>),
    Index(usize),
}

/// An object or array inside a shared JSON document, seen by templates as a map or a sequence.
#[derive(Debug)]
struct JsonNode {
    root: Arc<Value>,
    path: Vec<Seg>,
    /// Shared by every node of one context; the root answers [`EXACT`] with it.
    exact: Arc<ExactNumbers>,
}

impl JsonNode {
    /// The JSON value this node points at; the path was valid when the node was made.
    fn value(&self) -> &Value {
        let mut v = &*self.root;
        for seg in &self.path {
            v = match (seg, v) {
                (Seg::Key(k), Value::Object(m)) => &m[&**k],
                (Seg::Index(i), Value::Array(a)) => &a[*i],
                _ => unreachable!("JsonNode paths are built from existing children"),
            };
        }
        v
    }

    fn child(&self, seg: Seg, v: &Value) -> MjValue {
        let mut path = self.path.clone();
        path.push(seg);
        node_value(&self.root, &self.exact, path, v)
    }
}

impl Object for JsonNode {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.value() {
            Value::Array(_) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        match self.value() {
            Value::Object(m) => {
                let k = key.as_str()?;
                if self.path.is_empty() && k == EXACT {
                    return Some(MjValue::from_dyn_object(self.exact.clone()));
                }
                let (k, v) = m.get_key_value(k)?;
                Some(self.child(Seg::Key(Arc::from(k.as_str())), v))
            }
            Value::Array(a) => {
                let i = key.as_usize()?;
                Some(self.child(Seg::Index(i), a.get(i)?))
            }
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.value() {
            Value::Object(m) => {
                Enumerator::Values(m.keys().map(|k| MjValue::from(k.as_str())).collect())
            }
            Value::Array(a) => Enumerator::Seq(a.len()),
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.value() {
            Value::Object(m) => Some(m.len()),
            Value::Array(a) => Some(a.len()),
            _ => Some(0),
        }
    }
}

/// A JSON value at `path` in `root`: scalars become plain values, containers a [`JsonNode`].
fn node_value(root: &Arc<Value>, exact: &Arc<ExactNumbers>, path: Vec<Seg>, v: &Value) -> MjValue {
    match v {
        Value::Null => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Number(n) => match native(n) {
            Native::Int(i) => MjValue::from(i),
            Native::Uint(u) => MjValue::from(u),
            Native::Float(f) => MjValue::from(f),
        },
        Value::String(s) => MjValue::from(s.as_str()),
        Value::Object(_) | Value::Array(_) => MjValue::from_object(JsonNode {
            root: Arc::clone(root),
            path,
            exact: Arc::clone(exact),
        }),
    }
}

/// The minijinja number a JSON number becomes.
enum Native {
    Int(i128),
    Uint(u128),
    /// Any other number: the nearest float (infinite past f64's range); its text is kept aside.
    Float(f64),
}

/// An integer written in plain digits that fits 128 bits stays an integer; everything else
/// (decimals, exponents, `-0`, longer integers) is a float whose text [`ExactNumbers`] keeps.
fn native(n: &Number) -> Native {
    let text = n.as_str();
    let plain = |digits: String| digits == text;
    if let Some(i) = n.as_i128().filter(|i| plain(i.to_string())) {
        return Native::Int(i);
    }
    if let Some(u) = n.as_u128().filter(|u| plain(u.to_string())) {
        return Native::Uint(u);
    }
    Native::Float(text.parse().unwrap_or(f64::NAN))
}

/// Shares a JSON object's entries with templates as the root context.
pub(super) fn context_value(root: &Arc<Value>) -> MjValue {
    let mut exact = ExactNumbers::default();
    exact.collect(root);
    node_value(root, &Arc::new(exact), Vec::new(), root)
}

/// Converts a template's result back to JSON, numbers of the context with their text as sent;
/// `Err` names the kind that has no JSON form.
pub(super) fn to_json(v: &MjValue, exact: &ExactNumbers) -> Result<Value, String> {
    if let Some(node) = v.downcast_object_ref::<JsonNode>() {
        return Ok(node.value().clone());
    }
    Ok(match v.kind() {
        ValueKind::Undefined => return Err("undefined".into()),
        ValueKind::Invalid => return Err(format!("invalid value ({v})")),
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => number_to_json(v, exact),
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_owned()),
        ValueKind::Bytes => {
            Value::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items = v.try_iter().map_err(|e| e.to_string())?;
            Value::Array(
                items
                    .map(|i| to_json(&i, exact))
                    .collect::<Result<_, _>>()?,
            )
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for key in v.try_iter().map_err(|e| e.to_string())? {
                let item = v.get_item(&key).map_err(|e| e.to_string())?;
                let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
                out.insert(key, to_json(&item, exact)?);
            }
            Value::Object(out)
        }
        // Functions, macros and other opaque objects.
        _ => return Err(format!("{} ({v})", v.kind())),
    })
}

fn number_to_json(v: &MjValue, exact: &ExactNumbers) -> Value {
    if let Some(n) = exact.text(v).and_then(|t| t.parse::<Number>().ok()) {
        return Value::Number(n);
    }
    let int = || i128::try_from(v.clone()).ok().and_then(Number::from_i128);
    let uint = || u128::try_from(v.clone()).ok().and_then(Number::from_u128);
    let number = match v.is_integer() {
        true => int().or_else(uint),
        // NaN and infinity have no JSON form.
        false => f64::try_from(v.clone()).ok().and_then(Number::from_f64),
    };
    number.map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(v: Value) -> MjValue {
        let mut m = Map::new();
        m.insert("x".into(), v);
        context_value(&Arc::new(Value::Object(m)))
    }

    fn exact_of(ctx: &MjValue) -> Arc<ExactNumbers> {
        ctx.get_attr(EXACT).unwrap().downcast_object().unwrap()
    }

    fn round_trip(v: Value) -> Value {
        let ctx = context(v);
        to_json(&ctx.get_attr("x").unwrap(), &exact_of(&ctx)).unwrap()
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn json_values_survive_the_trip_through_minijinja() {
        for v in [
            json!(null),
            json!(true),
            json!(-3),
            json!(u64::MAX),
            json!(1.5),
            json!("text"),
            json!([1, "a", null, {"k": [true]}]),
            json!({"z": 1, "a": {"b": [1, 2]}, "m": null}),
        ] {
            assert_eq!(round_trip(v.clone()), v);
        }
    }

    #[test]
    fn every_number_comes_back_with_the_text_it_was_sent_with() {
        for text in [
            "123456789012345678901234567890",
            "-170141183460469231731687303715884105728",
            "1234567890123456789012345678901234567890",
            "12.50",
            "0.1000000000000000055511151231257827",
            "1e+400",
            "-0",
        ] {
            let back = round_trip(parse(text));
            assert_eq!(back.as_number().unwrap().as_str(), text);
        }
        // serde_json writes every exponent as `e`, with a sign: the digits are what is kept.
        let back = round_trip(parse("[1E-7, 2e5]"));
        assert_eq!(back.to_string(), "[1e-7,2e+5]");
    }

    #[test]
    fn integers_that_fit_128_bits_are_minijinja_integers() {
        let big = context(parse("123456789012345678901234567890")).get_attr("x");
        let big = big.unwrap();
        assert!(big.is_integer());
        assert_eq!(big.to_string(), "123456789012345678901234567890");
        assert_eq!(
            u128::try_from(big).unwrap(),
            123456789012345678901234567890u128
        );
        let negative = context(parse("-42")).get_attr("x").unwrap();
        assert_eq!(i64::try_from(negative).unwrap(), -42);
    }

    #[test]
    fn other_numbers_are_floats_whose_text_is_kept_aside() {
        let ctx = context(parse(r#"[12.50, 1e3, 2.5]"#));
        let exact = exact_of(&ctx);
        let items = ctx.get_attr("x").unwrap();
        let total = items.get_item(&MjValue::from(0)).unwrap();
        assert_eq!(f64::try_from(total.clone()).unwrap(), 12.5);
        assert_eq!(exact.text(&total), Some("12.50"));
        let thousand = items.get_item(&MjValue::from(1)).unwrap();
        assert_eq!(f64::try_from(thousand.clone()).unwrap(), 1000.0);
        assert_eq!(exact.text(&thousand), Some("1e+3"));
        // A float computed by a template is not the sender's unless it is the very same float.
        assert_eq!(exact.text(&MjValue::from(2.25)), None);
        assert_eq!(exact.text(&MjValue::from(12)), None);
    }

    #[test]
    fn two_texts_of_one_float_fall_back_to_the_float() {
        let ctx = context(parse(r#"[12.5, 12.50]"#));
        assert_eq!(exact_of(&ctx).text(&MjValue::from(12.5)), None);
        assert_eq!(round_trip(parse("[12.5, 12.50]")), parse("[12.5, 12.50]"));
    }

    #[test]
    fn numbers_built_by_templates_convert_to_json_numbers() {
        let none = ExactNumbers::default();
        let big = MjValue::from(123456789012345678901234567890u128);
        assert_eq!(
            to_json(&big, &none).unwrap(),
            parse("123456789012345678901234567890")
        );
        assert_eq!(to_json(&MjValue::from(4.5), &none).unwrap(), json!(4.5));
        assert_eq!(
            to_json(&MjValue::from(f64::NAN), &none).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn object_keys_keep_file_order_when_iterated() {
        let o = context(json!({"z": 1, "a": 2, "m": 3}))
            .get_attr("x")
            .unwrap();
        let keys: Vec<String> = o.try_iter().unwrap().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn values_built_by_templates_convert_too() {
        let built = MjValue::from(vec![
            MjValue::from(1),
            MjValue::from("a"),
            MjValue::from(()),
        ]);
        let none = ExactNumbers::default();
        assert_eq!(to_json(&built, &none).unwrap(), json!([1, "a", null]));
        assert!(to_json(&MjValue::UNDEFINED, &none).is_err());
    }
}
