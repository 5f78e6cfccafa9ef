//! Turns serde-saphyr errors (YAML syntax, unknown key, wrong type) into diagnostics with a real
//! line and column, and serde's wording into the workflow language's ("unknown step kind").
//! The classic slips (an unquoted `{{ … }}`, a `then:` at the wrong depth) get their own
//! explanation: YAML's own words for them ("expected string scalar") do not say what to do.

use super::model::Diagnostic;

/// A diagnostic for a YAML or shape error in `file`, whose text is `text`.
pub fn yaml_diagnostic(file: &str, text: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = err
        .location()
        .map(|l| (l.line() as u32, l.column() as u32))
        .filter(|(l, _)| *l > 0)
        .unwrap_or((1, 1));
    let (column, message) = slip(text, line).unwrap_or_else(|| {
        let m = reword(&strip_position(&err.without_snippet().to_string()));
        (column, m)
    });
    Diagnostic {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// A classic slip on `line` (1-based) of `text`: its column and what to do about it.
fn slip(text: &str, line: u32) -> Option<(u32, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let src = *lines.get(line.checked_sub(1)? as usize)?;
    if let Some(col) = unquoted_template(src) {
        return Some((
            col,
            "a value that starts with `{{` must be quoted, or YAML reads it as a map: \
             write `\"{{ … }}\"`"
                .into(),
        ));
    }
    let trimmed = src.trim_start();
    let key = ["then:", "else:"]
        .into_iter()
        .find(|k| trimmed.starts_with(k))?;
    let col = (src.len() - trimmed.len() + 1) as u32;
    let key = key.trim_end_matches(':');
    // The `condition:` of the same `if:` is the nearest one above.
    let above = lines[..line as usize - 1]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, l)| {
            let t = l.trim_start();
            t.starts_with("condition:")
                .then(|| (i + 1, l.len() - t.len() + 1))
        });
    let fix = match above {
        Some((n, c)) => format!("indent it to column {c}, under `condition:` on line {n}"),
        None => "indent it under `if:`, level with `condition:`".to_string(),
    };
    Some((col, format!("`{key}:` is not inside its `if:`: {fix}")))
}

/// The column of a `{{` that starts an unquoted YAML value on this line (after `key:`, `- `,
/// `[` or `,`), outside quotes and comments.
fn unquoted_template(line: &str) -> Option<u32> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut last_mark = None;
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return None,
            None if c == '{' && chars.get(i + 1) == Some(&'{') => {
                if matches!(last_mark, Some(':' | '-' | '[' | ',')) {
                    return Some(i as u32 + 1);
                }
            }
            None if !c.is_whitespace() => last_mark = Some(c),
            None => {}
        }
        prev = c;
    }
    None
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

    #[test]
    fn an_unquoted_template_value_is_found_and_a_quoted_one_is_not() {
        assert_eq!(unquoted_template("  email: {{ email }}"), Some(10));
        assert_eq!(
            unquoted_template("  - find_contact: {email: {{ email }}}"),
            Some(27)
        );
        assert_eq!(unquoted_template("  - {{ tag }}"), Some(5));
        assert_eq!(unquoted_template("  email: \"{{ email }}\""), None);
        assert_eq!(unquoted_template("  body: Hi {{ name }}"), None);
        assert_eq!(unquoted_template("  # email: {{ email }}"), None);
    }
}
