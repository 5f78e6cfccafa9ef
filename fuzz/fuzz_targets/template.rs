//! Templates fed hostile payload values. Input: `TEMPLATE\nJSON` (the JSON is the trigger item;
//! not JSON: the bytes as a string). Also checks that HTML escaping holds for any value.
#![no_main]

use hookflow::engine::template::{Context, Renderer};
use hookflow::workflow::model::{Expr, Pos};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let (source, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => (String::new(), data),
    };
    let trigger: Value = serde_json::from_slice(rest)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(rest).into_owned()));
    let request = json!({"headers": {"x": trigger.clone()}, "query": {}, "received_at": "now"});
    let ctx = Context::new(trigger.clone(), request, json!({"id": "fuzz"}), "2024-01-01T00:00:00Z")
        .with("email", trigger.clone())
        .with("contact", trigger.clone());
    // A fresh renderer per input: its cache holds every distinct source it compiled.
    let renderer = Renderer::new();
    let pos = Pos::default();
    let _ = renderer.render_value(&source, pos, &ctx);
    let _ = renderer.render_text(&source, &ctx, true);
    let _ = renderer.render_text(&source, &ctx, false);
    let expr = Expr { source: source.clone(), pos };
    let _ = renderer.eval_condition(&expr, &ctx);

    // An author's fixed template: no value may open a tag in HTML mode.
    let hostile = match &trigger {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let ctx = ctx.with("trigger", json!({ "name": hostile }));
    let html = renderer
        .render_text("<p>{{ trigger.name }}</p>", &ctx, true)
        .expect("a plain field renders");
    let inner = &html["<p>".len()..html.len() - "</p>".len()];
    assert!(!inner.contains(['<', '>', '"']), "unescaped: {html:?}");
    // `{{ x }}` alone keeps the value's type: a string stays that string.
    let kept = renderer
        .render_value("{{ trigger.name }}", pos, &ctx)
        .expect("a plain field renders");
    assert_eq!(kept, Value::String(hostile));
});
