//! How diagnostics are printed by `hookflow check` and the server's log: the
//! `file:line:column: severity: message` form editors and CI annotate.

use super::model::Diagnostic;

/// `file:line:column: severity: message`, with `severity` being `error` or `warning`; always one
/// line (a message that quotes a multi-line template is folded), so tools can read it by line.
pub fn format_diagnostic(d: &Diagnostic, severity: &str) -> String {
    let message = d.message.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{}:{}:{}: {severity}: {message}", d.file, d.line, d.column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_a_compiler() {
        let d = Diagnostic {
            file: "workflows/booking.yaml".into(),
            line: 12,
            column: 5,
            message: "unknown step kind `add_tags`".into(),
        };
        assert_eq!(
            format_diagnostic(&d, "error"),
            "workflows/booking.yaml:12:5: error: unknown step kind `add_tags`"
        );
        let folded = Diagnostic {
            message: "invalid JSONPath:\n  --> 1:3\n  |".into(),
            ..d
        };
        assert_eq!(
            format_diagnostic(&folded, "warning"),
            "workflows/booking.yaml:12:5: warning: invalid JSONPath: --> 1:3 |"
        );
    }
}
