//! List views share paging: `--limit` and `--cursor` are the API's, and the table ends with
//! the command to run for the next page when there is one.

use super::client::ApiClient;
use crate::outln;
use serde_json::Value;

/// `--limit` and `--cursor` of every list view.
#[derive(Debug, Clone, clap::Args)]
pub struct Page {
    /// How many to show (1 to 1000).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Where to continue: the cursor printed under the previous page.
    #[arg(long)]
    pub cursor: Option<String>,
}

/// Fetches one page of `path` with the given filters (empty values are left out).
pub async fn fetch(
    client: &ApiClient,
    path: &str,
    filters: &[(&str, Option<&str>)],
    page: &Page,
) -> anyhow::Result<Value> {
    let limit = page.limit.to_string();
    let mut query: Vec<(&str, &str)> = vec![("limit", limit.as_str())];
    query.extend(filters.iter().filter_map(|(k, v)| Some((*k, (*v)?))));
    if let Some(c) = &page.cursor {
        query.push(("cursor", c));
    }
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    client.get(&format!("{path}?{qs}")).await
}

/// The page's items.
pub fn items(page: &Value) -> &[Value] {
    page["items"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Under a table: how many were shown and, when there are more, how to get them.
pub fn footer(page: &Value, again: &str) {
    let shown = items(page).len();
    match page["next_cursor"].as_str() {
        Some(c) => outln!("{shown} shown; more: {again} --cursor {c}"),
        None if shown == 0 => outln!("nothing yet"),
        None => {}
    }
}

/// Rebuilds the command line a user typed, for the footer hint.
pub fn again(command: &str, flags: &[(&str, Option<&str>)], limit: usize) -> String {
    let mut out = format!("hookflow {command}");
    for (k, v) in flags {
        if let Some(v) = v {
            out.push_str(&format!(" --{k} {v}"));
        }
    }
    if limit != 50 {
        out.push_str(&format!(" --limit {limit}"));
    }
    out
}
