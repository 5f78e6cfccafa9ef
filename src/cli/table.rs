//! Tables for people: aligned columns, short times, full ids (people copy them).

use crate::outln;
use serde_json::Value;

/// Rows of text printed under a header with aligned columns.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the header and rows; the last column is not padded.
    pub fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let last = cells.len().saturating_sub(1);
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i == last {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  "));
                }
            }
            out.trim_end().to_string()
        };
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        outln!("{}", line(&header));
        for row in &self.rows {
            outln!("{}", line(row));
        }
    }
}

/// A string field, or `-` when absent or null.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time shortened to `MM-DD HH:MM:SS` (UTC, as stored).
pub fn short_time(v: &Value) -> String {
    match v.as_str() {
        Some(t) if t.len() >= 19 => format!("{} {}", &t[5..10], &t[11..19]),
        Some(t) => t.to_string(),
        None => "-".into(),
    }
}
