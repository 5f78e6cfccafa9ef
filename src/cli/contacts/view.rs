//! How contacts look in a terminal: aligned tables for people, pretty JSON for programs.

use serde_json::Value;

/// Pretty JSON with a final newline.
pub fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn name(c: &Value) -> String {
    format!("{} {}", s(&c["first_name"]), s(&c["last_name"]))
        .trim()
        .to_string()
}

fn tags(c: &Value) -> String {
    c["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A page as aligned columns, and how to get the next page.
pub fn list_table(page: &Value) -> String {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "no contacts\n".into();
    }
    let mut rows = vec![["ID", "NAME", "EMAIL", "PHONE", "TAGS", "DND"].map(String::from)];
    for c in &items {
        rows.push([
            s(&c["id"]),
            name(c),
            s(&c["email"]),
            s(&c["phone"]),
            tags(c),
            if c["dnd"] == true { "dnd" } else { "" }.to_string(),
        ]);
    }
    let mut out = table(&rows);
    if let Some(next) = page["next_cursor"].as_str() {
        out.push_str(&format!("more: --cursor {next}\n"));
    }
    out
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// One contact for people: fields, custom fields, sequences, then the timeline.
pub fn contact_text(c: &Value) -> String {
    let mut rows: Vec<[String; 2]> = [
        ("id", s(&c["id"])),
        ("name", name(c)),
        ("email", s(&c["email"])),
        ("phone", s(&c["phone"])),
        ("tags", tags(c)),
        ("dnd", s(&c["dnd"])),
        ("timezone", s(&c["timezone"])),
        ("source", s(&c["source"])),
        ("created", s(&c["created_at"])),
        ("updated", s(&c["updated_at"])),
    ]
    .into_iter()
    .map(|(k, v)| [k.to_string(), v])
    .collect();
    for (k, v) in c["custom"].as_object().into_iter().flatten() {
        rows.push([format!("custom.{k}"), s(v)]);
    }
    for e in c["sequences"].as_array().into_iter().flatten() {
        let due = e["next_due_at"].as_str().map(|d| format!(", next due {d}"));
        rows.push([
            format!("sequence.{}", s(&e["sequence"])),
            format!(
                "{}, step {}{}",
                s(&e["state"]),
                e["step"],
                due.unwrap_or_default()
            ),
        ]);
    }
    let mut out = table(&rows);
    let timeline = c["timeline"].as_array().cloned().unwrap_or_default();
    if !timeline.is_empty() {
        out.push_str("\ntimeline\n");
        let rows: Vec<[String; 3]> = timeline
            .iter()
            .map(|t| {
                let by = match t["run_id"].as_str() {
                    Some(run) => format!("run {run} {}", s(&t["step"])),
                    None => s(&t["actor"]),
                };
                [s(&t["at"]), by, changes_text(&t["changes"])]
            })
            .collect();
        out.push_str(&table(&rows));
    }
    out
}

fn changes_text(changes: &Value) -> String {
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

/// An import's counts, then each skipped row and each warning.
pub fn report_text(r: &Value) -> String {
    let skipped = r["skipped"].as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "created {}, updated {}, skipped {}\n",
        r["created"],
        r["updated"],
        skipped.len()
    );
    for n in &skipped {
        out.push_str(&format!("line {}: {}\n", n["line"], s(&n["reason"])));
    }
    for n in r["warnings"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "line {}: warning: {}\n",
            n["line"],
            s(&n["reason"])
        ));
    }
    out
}
