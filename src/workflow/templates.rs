//! Email template files (`workflows/templates/*`) that no workflow or sequence names yet: a step
//! checks the templates it uses with its own names, so these get a syntax check only, by the
//! engine's renderer, so that a broken file is known before someone points a step at it.

use super::model::{Diagnostic, Pos};
use crate::engine::template::Renderer;
use std::path::Path;

/// A syntax error per file under `dir/templates/` that no text in `sources` mentions.
pub fn check_unused(dir: &Path, sources: &[String]) -> Vec<Diagnostic> {
    let Ok(entries) = std::fs::read_dir(dir.join("templates")) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let renderer = Renderer::new();
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let rel = format!("templates/{name}");
        if sources.iter().any(|s| s.contains(&rel)) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Err(e) = renderer.text_reads(&text, Pos::default()) {
            out.push(Diagnostic {
                file: file.display().to_string(),
                line: e.pos.line,
                column: e.pos.column,
                message: format!("{} (no workflow uses this template yet)", e.message),
            });
        }
    }
    out
}
