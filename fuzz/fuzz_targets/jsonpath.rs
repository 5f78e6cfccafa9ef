//! Mapping paths into payload items. Input: `JSONPATH\nJSON`. A path that `is_single` says can
//! match at most one node never gives two.
#![no_main]

use hookflow::workflow::paths::{compile, is_single, select};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(i) = data.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(path) = std::str::from_utf8(&data[..i]) else {
        return;
    };
    let item: Value = match serde_json::from_slice(&data[i + 1..]) {
        Ok(v) => v,
        Err(_) => Value::Null,
    };
    let Ok(query) = compile(path) else {
        return;
    };
    if let Ok(found) = select(path, &item) {
        if is_single(&query) {
            assert!(found.len() <= 1, "single path {path} matched {}", found.len());
        }
    }
});
