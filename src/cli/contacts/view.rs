//! How contacts look in a terminal: the shared aligned tables for people (`--json` prints the
//! API's document instead, through `output::json`).

use crate::cli::list;
use crate::cli::table::{text, Table};
use crate::outln;
use serde_json::Value;

fn name(c: &Value) -> String {
    let full = format!(
        "{} {}",
        c["first_name"].as_str().unwrap_or(""),
        c["last_name"].as_str().unwrap_or("")
    );
    text(&Value::String(full.trim().to_string()))
}

fn tags(c: &Value) -> String {
    let tags: Vec<String> = c["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    text(&Value::String(tags.join(", ")))
}

/// A page as a table, and how to get the next page.
pub fn print_list(page: &Value, again: &str) {
    let mut table = Table::new(&["ID", "NAME", "EMAIL", "PHONE", "DND", "TAGS"]);
    for c in list::items(page) {
        table.row(vec![
            text(&c["id"]),
            name(c),
            text(&c["email"]),
            text(&c["phone"]),
            if c["dnd"] == true { "dnd" } else { "-" }.to_string(),
            tags(c),
        ]);
    }
    table.print();
    list::footer(page, again);
}

/// One contact for people: fields, custom fields, sequences, then the timeline.
pub fn print_contact(c: &Value) {
    let mut fields = Table::new(&["FIELD", "VALUE"]);
    for (label, value) in [
        ("id", text(&c["id"])),
        ("name", name(c)),
        ("email", text(&c["email"])),
        ("phone", text(&c["phone"])),
        ("tags", tags(c)),
        ("dnd", text(&c["dnd"])),
        ("timezone", text(&c["timezone"])),
        ("source", text(&c["source"])),
        ("created", text(&c["created_at"])),
        ("updated", text(&c["updated_at"])),
    ] {
        fields.row(vec![label.to_string(), value]);
    }
    for (k, v) in c["custom"].as_object().into_iter().flatten() {
        fields.row(vec![format!("custom.{k}"), text(v)]);
    }
    for e in c["sequences"].as_array().into_iter().flatten() {
        let due = e["next_due_at"].as_str().map(|d| format!(", next due {d}"));
        fields.row(vec![
            format!("sequence.{}", text(&e["sequence"])),
            format!(
                "{}, step {}{}",
                text(&e["state"]),
                e["step"],
                due.unwrap_or_default()
            ),
        ]);
    }
    fields.print();
    let timeline = c["timeline"].as_array().cloned().unwrap_or_default();
    if timeline.is_empty() {
        return;
    }
    outln!();
    let mut table = Table::new(&["TIMELINE", "BY", "CHANGES"]);
    for t in &timeline {
        let by = match t["run_id"].as_str() {
            Some(run) => format!("run {run} {}", text(&t["step"])),
            None => text(&t["actor"]),
        };
        table.row(vec![text(&t["at"]), by, changes(&t["changes"])]);
    }
    table.print();
}

fn changes(changes: &Value) -> String {
    let parts: Vec<String> = changes
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| match (v.get("from"), v.get("to")) {
            (Some(from), Some(to)) => format!("{k}: {from} → {to}"),
            _ => format!("{k}: {v}"),
        })
        .collect();
    parts.join("; ")
}

/// An import's counts, then each skipped row and each warning, as `line N: reason`.
pub fn print_report(r: &Value) {
    let skipped = r["skipped"].as_array().cloned().unwrap_or_default();
    outln!(
        "created {}, updated {}, skipped {}",
        r["created"],
        r["updated"],
        skipped.len()
    );
    for n in &skipped {
        outln!("line {}: {}", n["line"], text(&n["reason"]));
    }
    for n in r["warnings"].as_array().into_iter().flatten() {
        outln!("line {}: warning: {}", n["line"], text(&n["reason"]));
    }
}
