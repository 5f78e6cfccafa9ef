//! Building the RFC 5322 message for an outbox record.
//!
//! The message is a pure function of the record and the default sender: the `Message-ID` is
//! `<{id}@hookflow>`, the `Date` is the record's `created_at` and the multipart boundary is
//! derived from the id; the sender is the record's `from`, which the engine fills from
//! `--mail-from` when it queues the email. So a retry after a crash sends byte-for-byte the same email (receivers
//! de-duplicate on the Message-ID), and the admin API shows exactly what was sent.

use super::MailError;
use crate::domain::ids::random_hex;
use crate::store::outbox::OutboxRecord;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart, SinglePart};
use std::time::{Duration, UNIX_EPOCH};

/// The sender of records whose `from` is empty (the engine fills `from` from `--mail-from`).
pub const DEFAULT_FROM: &str = "hookflow <noreply@localhost>";

/// A fresh unsubscribe token: 128 random bits from the OS, as 32 hex characters.
pub fn new_token() -> String {
    random_hex(16)
}

/// The fixed Message-ID of a record, angle brackets included.
pub fn message_id(record: &OutboxRecord) -> String {
    format!("<{}@hookflow>", record.id)
}

/// The formatted message (headers and bodies) as it is sent; Bcc is not in it.
pub fn render(record: &OutboxRecord) -> Result<Vec<u8>, MailError> {
    Ok(build(record)?.formatted())
}

/// The lettre message for a record; its envelope holds every To, Cc and Bcc recipient.
pub fn build(record: &OutboxRecord) -> Result<Message, MailError> {
    let id = &record.id;
    let from = record.from.as_deref().unwrap_or(DEFAULT_FROM);
    let mut builder = Message::builder()
        .from(mailbox(id, "from", from)?)
        .to(mailbox(id, "to", &record.to)?)
        .subject(record.subject.clone())
        .message_id(Some(message_id(record)))
        .date(UNIX_EPOCH + Duration::from_millis(record.created_at.max(0) as u64));
    for cc in &record.cc {
        builder = builder.cc(mailbox(id, "cc", cc)?);
    }
    for bcc in &record.bcc {
        builder = builder.bcc(mailbox(id, "bcc", bcc)?);
    }
    let url = record.unsubscribe_url.as_deref();
    if let Some(url) = url {
        check_url(id, url)?;
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{url}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let text = record.text.as_deref().map(|t| text_with_link(t, url));
    let html = record.html.as_deref().map(|h| html_with_link(h, url));
    let built = match (text, html) {
        (Some(text), Some(html)) => builder.multipart(
            MultiPart::alternative()
                .boundary(format!("hookflow-{id}"))
                .singlepart(SinglePart::plain(text))
                .singlepart(SinglePart::html(html)),
        ),
        (None, Some(html)) => builder.singlepart(SinglePart::html(html)),
        (text, None) => builder.singlepart(SinglePart::plain(text_with_link(
            text.as_deref().unwrap_or(""),
            None,
        ))),
    };
    built.map_err(|e| MailError::Build {
        id: id.clone(),
        reason: e.to_string(),
    })
}

fn mailbox(id: &str, field: &'static str, address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::InvalidAddress {
            id: id.to_string(),
            field,
            address: address.to_string(),
            reason: e.to_string(),
        })
}

/// The URL goes verbatim inside `<…>` in a header and in an HTML attribute, so only plain
/// printable ASCII without delimiters is accepted.
fn check_url(id: &str, url: &str) -> Result<(), MailError> {
    let plain = !url.is_empty()
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\''));
    if plain {
        Ok(())
    } else {
        Err(MailError::BadUnsubscribeUrl {
            id: id.to_string(),
            url: url.to_string(),
        })
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

fn text_with_link(text: &str, url: Option<&str>) -> String {
    match url {
        Some(url) => format!("{}\n\nUnsubscribe: {url}\n", text.trim_end()),
        None => text.to_string(),
    }
}

fn html_with_link(html: &str, url: Option<&str>) -> String {
    let Some(url) = url else {
        return html.to_string();
    };
    let footer = format!(
        "<p style=\"font-size:small\"><a href=\"{}\">Unsubscribe</a></p>",
        url.replace('&', "&amp;")
    );
    // Inside the body when there is one, so the footer renders as part of the page.
    match html.rfind("</body>") {
        Some(at) => format!("{}{footer}\n{}", &html[..at], &html[at..]),
        None => format!("{html}\n{footer}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> OutboxRecord {
        let json = serde_json::json!({
            "id": "01JTEST", "to": "Jane Doe <jane@example.com>", "cc": ["cc@example.com"],
            "bcc": ["hidden@example.com"], "subject": "See you soon", "text": "Hello Jane",
            "html": "<html><body><p>Hello Jane</p></body></html>", "state": "queued",
            "unsubscribe_url": "http://127.0.0.1:8787/unsubscribe/abc", "created_at": 1_700_000_000_000i64,
        });
        serde_json::from_value(json).unwrap()
    }

    fn rendered(r: &OutboxRecord) -> String {
        String::from_utf8(render(r).unwrap()).unwrap()
    }

    #[test]
    fn a_message_carries_the_fixed_id_unsubscribe_headers_and_both_bodies() {
        let r = record();
        let m = rendered(&r);
        assert!(m.contains("Message-ID: <01JTEST@hookflow>\r\n"), "{m}");
        assert!(
            m.contains("List-Unsubscribe: <http://127.0.0.1:8787/unsubscribe/abc>\r\n"),
            "{m}"
        );
        assert!(
            m.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{m}"
        );
        assert!(m.contains("From: hookflow <noreply@localhost>\r\n"), "{m}");
        assert!(m.contains("Cc: cc@example.com\r\n"), "{m}");
        assert!(
            !m.contains("hidden@example.com"),
            "Bcc leaked into the headers: {m}"
        );
        assert!(m.contains("multipart/alternative"), "{m}");
        assert!(
            m.contains("Unsubscribe: http://127.0.0.1:8787/unsubscribe/abc"),
            "{m}"
        );
        // lettre sends long HTML lines quoted-printable: undo soft breaks and `=3D`.
        let html = m.replace("=\r\n", "").replace("=3D", "=");
        let link = "<a href=\"http://127.0.0.1:8787/unsubscribe/abc\">Unsubscribe</a></p>";
        assert!(html.contains(&format!("{link}\r\n</body>")), "{m}");
    }

    #[test]
    fn the_records_sender_wins_over_the_default() {
        let mut r = record();
        r.from = Some("Clinic <hello@clinic.example>".into());
        assert!(rendered(&r).contains("From: Clinic <hello@clinic.example>\r\n"));
    }

    #[test]
    fn the_envelope_includes_bcc_recipients() {
        let m = build(&record()).unwrap();
        let to: Vec<String> = m.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(
            to,
            ["jane@example.com", "cc@example.com", "hidden@example.com"]
        );
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        assert_eq!(rendered(&record()), rendered(&record()));
    }

    #[test]
    fn an_invalid_address_is_an_error_naming_it() {
        let mut r = record();
        r.cc = vec!["not an address".into()];
        let err = render(&r).unwrap_err().to_string();
        assert!(
            err.contains("cc") && err.contains("\"not an address\""),
            "{err}"
        );
    }

    #[test]
    fn text_only_and_html_only_messages_are_single_part() {
        let mut r = record();
        r.html = None;
        let m = rendered(&r);
        assert!(
            m.contains("Content-Type: text/plain") && !m.contains("multipart"),
            "{m}"
        );
        let mut r = record();
        r.text = None;
        let m = rendered(&r);
        assert!(
            m.contains("Content-Type: text/html") && !m.contains("multipart"),
            "{m}"
        );
    }

    #[test]
    fn a_url_that_could_break_the_header_is_refused() {
        let mut r = record();
        r.unsubscribe_url = Some("http://x/a>\r\nBcc: evil@example.com".into());
        assert!(matches!(
            render(&r),
            Err(MailError::BadUnsubscribeUrl { .. })
        ));
    }

    #[test]
    fn tokens_are_128_bit_hex_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
