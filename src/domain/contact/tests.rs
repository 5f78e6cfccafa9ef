use super::*;
use proptest::prelude::*;
use serde_json::json;

#[test]
fn emails_are_trimmed_and_lowercased() {
    let e = Email::parse("  Jane.Doe@Example.COM ").unwrap();
    assert_eq!(e.as_str(), "jane.doe@example.com");
}

#[test]
fn malformed_emails_are_refused_with_a_reason() {
    for (input, why) in [
        ("", "empty"),
        ("jane", "no '@'"),
        ("a@b@c.com", "more than one"),
        ("@example.com", "before the '@'"),
        ("jane@localhost", "no dot"),
        ("jane@example..com", "empty part"),
        ("ja ne@example.com", "spaces"),
        ("jane@exa\u{7}mple.com", "control"),
    ] {
        let err = Email::parse(input).unwrap_err();
        assert!(err.contains(why), "{input:?} gave {err:?}");
    }
}

#[test]
fn phone_formats_become_the_same_e164() {
    for input in [
        "(415) 555-0132",
        "+1 415 555 0132",
        "415.555.0132",
        "4155550132",
        " +14155550132 ",
    ] {
        assert_eq!(
            Phone::parse(input, "US").unwrap().as_str(),
            "+14155550132",
            "{input}"
        );
    }
    assert_eq!(
        Phone::parse("020 7946 0958", "GB").unwrap().as_str(),
        "+442079460958"
    );
}

#[test]
fn invalid_phones_are_refused_with_a_reason() {
    assert!(Phone::parse("12", "US")
        .unwrap_err()
        .contains("invalid phone"));
    assert!(Phone::parse("not a phone", "US").is_err());
    assert!(Phone::parse("", "US").unwrap_err().contains("empty"));
    assert!(Phone::parse("4155550132", "XX")
        .unwrap_err()
        .contains("region"));
}

#[test]
fn tags_keep_their_first_form_and_match_by_lowercase_key() {
    let t = Tag::parse("  Booked ").unwrap();
    assert_eq!(t.as_str(), "Booked");
    assert_eq!(t.key(), Tag::parse("BOOKED").unwrap().key());
    assert!(Tag::parse("   ").is_err());
    assert!(Tag::parse(&"x".repeat(101)).is_err());
    assert!(Tag::parse(&"x".repeat(100)).is_ok());
}

#[test]
fn contact_json_has_the_documented_shape() {
    let mut c = Contact::new(1_700_000_000_123);
    c.email = Some(Email::parse("a@b.co").unwrap());
    c.tags.push(Tag::parse("VIP").unwrap());
    c.sequences.push(Enrolment {
        sequence: "warming".into(),
        step: 1,
        next_due_at: Some(1_700_000_100_000),
        state: EnrolmentState::Active,
    });
    let v = serde_json::to_value(&c).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "tags",
            "custom",
            "dnd",
            "timezone",
            "source",
            "sequences",
            "created_at",
            "updated_at"
        ]
    );
    assert_eq!(v["created_at"], json!("2023-11-14T22:13:20.123Z"));
    assert_eq!(v["tags"], json!(["VIP"]));
    assert_eq!(
        v["sequences"][0],
        json!({"sequence": "warming", "step": 1,
               "next_due_at": "2023-11-14T22:15:00Z", "state": "active"})
    );
    let back: Contact = serde_json::from_value(v).unwrap();
    assert_eq!(back, c);
}

#[test]
fn stored_json_with_a_bad_email_does_not_deserialise() {
    let mut v = serde_json::to_value(Contact::new(0)).unwrap();
    v["email"] = json!("nope");
    assert!(serde_json::from_value::<Contact>(v).is_err());
}

#[test]
fn stored_json_with_a_phone_not_in_e164_form_does_not_deserialise() {
    let mut c = Contact::new(0);
    c.phone = Some(Phone::parse("(415) 555-0132", "US").unwrap());
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["phone"], json!("+14155550132"));
    assert_eq!(serde_json::from_value::<Contact>(v.clone()).unwrap(), c);
    for bad in [
        "(415) 555-0132",
        "14155550132",
        "+",
        "+0415555",
        "+1415555013212345",
        "+1 415",
    ] {
        let mut v = v.clone();
        v["phone"] = json!(bad);
        assert!(serde_json::from_value::<Contact>(v).is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn email_parse_is_idempotent(local in "[A-Za-z0-9._+-]{1,20}", domain in "[A-Za-z0-9-]{1,15}",
                                 tld in "[A-Za-z]{2,6}", pad in " {0,3}") {
        let raw = format!("{pad}{local}@{domain}.{tld}{pad}");
        let once = Email::parse(&raw).unwrap();
        let twice = Email::parse(once.as_str()).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn phone_e164_is_a_fixed_point(area in 201u32..990, exchange in 200u32..999, line in 0u32..9999,
                                   region in prop::sample::select(vec!["US", "CA", "GB", "DE"])) {
        let raw = format!("{area}{exchange}{line:04}");
        if let Ok(p) = Phone::parse(&raw, "US") {
            let again = Phone::parse(p.as_str(), region).unwrap();
            prop_assert_eq!(p, again);
        }
    }
}

#[test]
fn a_number_read_again_at_once_is_not_parsed_again_and_gets_the_same_answer() {
    let plan_parses = || PLAN_PARSES.with(|n| n.get());
    let start = plan_parses();
    let first = Phone::parse("(415) 555-0132", "US");
    assert_eq!(first, Phone::parse("(415) 555-0132", "US"));
    assert_eq!(plan_parses() - start, 1, "the same number and region twice");
    // Another region is another answer: the number is read again.
    assert_eq!(
        Phone::parse("(415) 555-0132", "GB").is_ok(),
        Phone::parse_with_plan("(415) 555-0132", "GB").is_ok()
    );
    assert_eq!(plan_parses() - start, 3);
    // A refusal is remembered too, with its reason.
    let refused = Phone::parse("12", "US").unwrap_err();
    assert_eq!(Phone::parse("12", "US").unwrap_err(), refused);
    assert_eq!(plan_parses() - start, 4);
    // Only the last number: the first is read again once another came between.
    assert_eq!(Phone::parse("(415) 555-0132", "US"), first);
    assert_eq!(plan_parses() - start, 5);
}
