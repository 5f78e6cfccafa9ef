//! Turns serde-saphyr errors (YAML syntax, unknown key, wrong type) into diagnostics with a real
//! line and column, and serde's wording into the workflow language's ("unknown step kind").

use super::model::Diagnostic;

/// A diagnostic for a YAML or shape error in `file`.
pub fn yaml_diagnostic(file: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = err
        .location()
        .map(|l| (l.line() as u32, l.column() as u32))
        .filter(|(l, _)| *l > 0)
        .unwrap_or((1, 1));
    Diagnostic {
        file: file.to_string(),
        line,
        column,
        message: reword(&strip_position(&err.without_snippet().to_string())),
    }
}

/// The position is in the diagnostic already; drop serde-saphyr's ` at line N, column M`.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// Says what was wrong in the language's own terms.
fn reword(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        if let Some((name, known)) = rest.split_once(", expected one of ") {
            let what = if known.contains("find_contact") {
                "step kind"
            } else if known.contains("bearer") {
                "auth type"
            } else {
                "value"
            };
            return format!("unknown {what} {name}; known: {known}");
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        if let Some((name, known)) = rest.split_once(", expected one of ") {
            return format!("unknown key {name}; allowed keys: {known}");
        }
        if let Some((name, known)) = rest.split_once(", expected ") {
            return format!("unknown key {name}; allowed keys: {known}");
        }
        if let Some((name, _)) = rest.split_once(", there are no fields") {
            return format!("unknown key {name}; this block takes no keys");
        }
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_wording_becomes_the_language_s() {
        assert_eq!(
            reword("unknown variant `add_tags`, expected one of find_contact, add_tag"),
            "unknown step kind `add_tags`; known: find_contact, add_tag"
        );
        assert_eq!(
            reword("unknown field `creat`, expected one of email, create"),
            "unknown key `creat`; allowed keys: email, create"
        );
        assert_eq!(reword("missing field `trigger`"), "missing key `trigger`");
        assert_eq!(strip_position("bad thing at line 3, column 4"), "bad thing");
    }
}
