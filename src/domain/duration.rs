//! Durations as written in workflows and on the command line: `90s`, `3d`, `1h30m`, `2w`.
//! `m` is minutes (there is no month), so a run never waits an ambiguous amount of time.

use std::time::Duration;

/// Units from largest to smallest, with their length in seconds.
const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

/// Parses `\d+(s|m|h|d|w)` and combinations such as `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(
            "empty duration: write a number and a unit, e.g. `30s`, `15m`, `1h30m`, `3d`, `2w`"
                .into(),
        );
    }
    if s.starts_with('-') {
        return Err(format!(
            "negative duration `{s}`: durations must be positive, e.g. `3d`"
        ));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let Some(&(_, secs)) = UNITS.iter().find(|(u, _)| *u == c) else {
            return Err(format!(
                "invalid duration `{s}`: unknown unit `{c}`; use s, m (minutes), h, d or w, e.g. `1h30m`"
            ));
        };
        if digits.is_empty() {
            return Err(format!(
                "invalid duration `{s}`: unit `{c}` has no number before it, e.g. `3{c}`"
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("duration `{s}` is too large"))?;
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration `{s}` is too large"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!(
            "invalid duration `{s}`: `{digits}` has no unit; write e.g. `{digits}s` or `{digits}m`"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Formats whole seconds back into the shortest `1w2d3h4m5s` form (`0s` for zero).
pub fn format_duration(d: Duration) -> String {
    let mut rest = d.as_secs();
    if rest == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, secs) in UNITS {
        if rest >= secs {
            out.push_str(&format!("{}{unit}", rest / secs));
            rest %= secs;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_single_and_combined_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("-3d").unwrap_err().contains("negative"));
        assert!(parse_duration("3y")
            .unwrap_err()
            .contains("unknown unit `y`"));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("h").unwrap_err().contains("no number"));
        assert!(parse_duration("99999999999999999999s")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_duration("9999999999999999w")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn formats_the_largest_units_first() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(86_400 + 1)), "1d1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    proptest! {
        #[test]
        fn format_then_parse_roundtrips(secs in 0u64..10_000_000_000) {
            let d = Duration::from_secs(secs);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
