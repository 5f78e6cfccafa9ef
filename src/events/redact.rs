//! Error messages of steps quote what went wrong (`email "jane@x" is not valid`); events show
//! the message without those values, since they are patient data.

/// `message` with quoted values, email addresses and phone-like digit runs replaced by `…`.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            // A Debug-quoted value: drop it up to the closing quote (escapes included).
            let mut escaped = false;
            for c in chars.by_ref() {
                if !escaped && c == '"' {
                    break;
                }
                escaped = !escaped && c == '\\';
            }
            out.push('…');
        } else {
            out.push(c);
        }
    }
    out.split(' ')
        .map(|word| if looks_private(word) { "…" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An email address, or a run of digits long enough to be a phone number. ULIDs (ids) stay.
fn looks_private(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let is_ulid = word.len() == 26
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    word.contains('@') || (digits >= 6 && !is_ulid)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn quoted_values_emails_and_phones_are_left_out_and_ids_kept() {
        assert_eq!(
            redact(r#"update_contact: email "jane \"x\"@doe" is not valid: bad"#),
            "update_contact: email … is not valid: bad"
        );
        assert_eq!(
            redact("email jane@example.com already belongs to contact 01JD3ZQ7W8X9Y0ABCDEFGHJKMN"),
            "email … already belongs to contact 01JD3ZQ7W8X9Y0ABCDEFGHJKMN"
        );
        assert_eq!(redact("phone +1-555-0100123 is odd"), "phone … is odd");
        assert_eq!(redact("`warming` is not loaded"), "`warming` is not loaded");
    }
}
