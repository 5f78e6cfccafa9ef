//! Workflow and sequence files: any text gives a workflow or a diagnostic, never a panic.
#![no_main]

use hookflow::domain::ids::WorkflowId;
use hookflow::workflow::{format_diagnostic, load_sequence_source, load_workflow_source};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let id = WorkflowId::parse("fuzz").unwrap();
    // The shipped workflows dir, so `template:` files and known sequences resolve.
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../workflows"));
    let sequences: BTreeSet<WorkflowId> = ["warming", "vip-welcome"]
        .iter()
        .map(|s| WorkflowId::parse(s).unwrap())
        .collect();
    let env = |_: &str| Some("fuzz-secret".to_string());
    if let Err(d) = load_workflow_source(&id, "fuzz.yaml", text, &env, &sequences, dir) {
        let _ = format_diagnostic(&d, "error");
    }
    if let Err(d) = load_sequence_source(&id, "sequences/fuzz.yaml", text, dir) {
        let _ = format_diagnostic(&d, "error");
    }
});
