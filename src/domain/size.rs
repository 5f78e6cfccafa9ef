//! Byte sizes as written in workflow limits: `1024`, `512B`, `512KiB`, `1MiB`.

/// Parses a plain byte count or a number with `B`, `KiB` or `MiB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return Err(format!(
            "invalid size `{s}`: write a number of bytes or e.g. `512KiB`, `1MiB`"
        ));
    }
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        other => {
            return Err(format!(
                "invalid size `{s}`: unknown unit `{other}`; use B, KiB or MiB"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("size `{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bytes_and_binary_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
    }

    #[test]
    fn rejects_unknown_units_and_missing_numbers() {
        assert!(parse_size("1MB").unwrap_err().contains("unknown unit `MB`"));
        assert!(parse_size("MiB").unwrap_err().contains("invalid size"));
        assert!(parse_size("").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999MiB")
            .unwrap_err()
            .contains("too large"));
    }
}
