//! How diagnostics are printed by `hookflow check` and the server's log: the
//! `file:line:column: severity: message` form editors and CI annotate.

use super::model::Diagnostic;

/// `file:line:column: severity: message`, with `severity` being `error` or `warning`.
pub fn format_diagnostic(d: &Diagnostic, severity: &str) -> String {
    format!(
        "{}:{}:{}: {severity}: {}",
        d.file, d.line, d.column, d.message
    )
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
    }
}
