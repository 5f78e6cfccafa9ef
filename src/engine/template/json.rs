//! JSON ↔ minijinja values.
//!
//! minijinja is built without its `serde` feature, so payloads are shared with templates through
//! [`JsonNode`], an object that points into one `Arc`'d JSON document. Nothing is copied until a
//! template reads a value, object keys keep their order, and a whole object or array that a
//! template hands back (`{{ trigger.address }}`) is cloned from the original JSON, so its numbers
//! keep their exact form.

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as MjValue, ValueKind};
use serde_json::{Map, Number, Value};
use std::sync::Arc;

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
        node_value(&self.root, path, v)
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
fn node_value(root: &Arc<Value>, path: Vec<Seg>, v: &Value) -> MjValue {
    match v {
        Value::Null => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Number(n) => number_to_mj(n),
        Value::String(s) => MjValue::from(s.as_str()),
        Value::Object(_) | Value::Array(_) => MjValue::from_object(JsonNode {
            root: Arc::clone(root),
            path,
        }),
    }
}

fn number_to_mj(n: &Number) -> MjValue {
    if let Some(i) = n.as_i64() {
        MjValue::from(i)
    } else if let Some(u) = n.as_u64() {
        MjValue::from(u)
    } else {
        MjValue::from(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Shares a JSON object's entries with templates as the root context.
pub(super) fn context_value(vars: &Map<String, Value>) -> MjValue {
    let root = Arc::new(Value::Object(vars.clone()));
    node_value(&root, Vec::new(), &root)
}

/// Converts a template's result back to JSON; `Err` names the kind that has no JSON form.
pub(super) fn to_json(v: &MjValue) -> Result<Value, String> {
    if let Some(node) = v.downcast_object_ref::<JsonNode>() {
        return Ok(node.value().clone());
    }
    Ok(match v.kind() {
        ValueKind::Undefined => return Err("undefined".into()),
        ValueKind::Invalid => return Err(format!("invalid value ({v})")),
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => number_to_json(v),
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_owned()),
        ValueKind::Bytes => {
            Value::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items = v.try_iter().map_err(|e| e.to_string())?;
            Value::Array(items.map(|i| to_json(&i)).collect::<Result<_, _>>()?)
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for key in v.try_iter().map_err(|e| e.to_string())? {
                let item = v.get_item(&key).map_err(|e| e.to_string())?;
                let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
                out.insert(key, to_json(&item)?);
            }
            Value::Object(out)
        }
        // Functions, macros and other opaque objects.
        _ => return Err(format!("{} ({v})", v.kind())),
    })
}

fn number_to_json(v: &MjValue) -> Value {
    if v.is_integer() {
        if let Ok(i) = i64::try_from(v.clone()) {
            return Value::from(i);
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return Value::from(u);
        }
    }
    // Very large integers (i128) and floats: JSON numbers are f64 anyway; NaN/inf have no JSON.
    f64::try_from(v.clone())
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) -> Value {
        let mut m = Map::new();
        m.insert("x".into(), v);
        let ctx = context_value(&m);
        to_json(&ctx.get_attr("x").unwrap()).unwrap()
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
    fn object_keys_keep_file_order_when_iterated() {
        let mut m = Map::new();
        m.insert("o".into(), json!({"z": 1, "a": 2, "m": 3}));
        let o = context_value(&m).get_attr("o").unwrap();
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
        assert_eq!(to_json(&built).unwrap(), json!([1, "a", null]));
        assert!(to_json(&MjValue::UNDEFINED).is_err());
    }
}
