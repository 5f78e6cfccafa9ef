//! Loading valid workflows end to end: the OptiMantra booking example with every step kind, every
//! auth form, directory loading with a broken neighbour, and the reference lint.

use crate::domain::ids::WorkflowId;
use crate::sender::auth::{AuthConfig, HmacAlgorithm, SignatureEncoding};
use crate::workflow::lint::lint_mapping;
use crate::workflow::load::{load_dir, load_sequence_source, load_workflow_source};
use crate::workflow::model::*;
use crate::workflow::trigger::DEFAULT_MAX_ITEMS;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub(super) const BOOKING: &str = r#"name: OptiMantra booking
status: published
trigger:
  inbound_webhook:
    auth: {type: bearer, token: "${OPTI_HOOK_TOKEN}"}
    split: "$[*]"
    filter: "trigger.event == 'appointment.booked'"
    dedupe: "{{ trigger.id }}:{{ trigger.type }}"
    dedupe_window: 12h
    limits: {max_body: 512KiB, rate: 10/s, burst: 20}
mapping:
  email: $.email
  first_name: $.firstName
  phone: $.phone
  services: $.services[*].name
steps:
  - find_contact: {email: "{{ email }}", phone: "{{ phone }}", first_name: "{{ first_name }}", create: true}
  - update_contact:
      first_name: "{{ first_name }}"
      timezone: America/Toronto
      source: OptiMantra
      custom: {last_booking: "{{ trigger.dateOfVisit }}", visits: 1}
  - add_tag: Booked
  - add_tag: [Patient, "{{ trigger.clinic }}"]
  - remove_tag: Lead
  - remove_from_sequence: warming
  - send_email:
      subject: "See you soon, {{ contact.first_name }}"
      template: templates/booked.html
      cc: front-desk@clinic.example
      bcc: [audit@clinic.example]
      transactional: true
  - set_dnd: false
  - wait: 1h30m
  - wait: {until: "09:00"}
  - if:
      condition: "has_tag('vip')"
      then:
        - add_to_sequence: vip-welcome
      else: []
"#;

pub(super) const WARMING: &str = r#"name: Warming
steps:
  - send_email: {subject: "Welcome {{ contact.first_name }}", body: "Glad you found us."}
  - wait: 3d
  - send_email: {subject: "Still thinking about it?", html: "<p>Book at {{ sequence.name }}</p>"}
  - add_tag: warmed
"#;

/// A workflows directory with the templates and sequences the examples use.
pub(super) fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::create_dir_all(dir.path().join("sequences")).unwrap();
    std::fs::write(
        dir.path().join("templates/booked.html"),
        "<p>Hi {{ contact.first_name }}, see you on {{ trigger.dateOfVisit }}.</p>",
    )
    .unwrap();
    std::fs::write(dir.path().join("sequences/warming.yaml"), WARMING).unwrap();
    std::fs::write(dir.path().join("sequences/vip-welcome.yml"), WARMING).unwrap();
    dir
}

pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "OPTI_HOOK_TOKEN" => Some("s3cret-token".into()),
        "HMAC_SECRET" => Some("shh".into()),
        "WHSEC" => Some("whsec_aGVsbG8gd29ybGQ=".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

pub(super) fn sequences() -> BTreeSet<WorkflowId> {
    ["warming", "vip-welcome"]
        .iter()
        .map(|s| WorkflowId::parse(s).unwrap())
        .collect()
}

pub(super) fn load(text: &str, dir: &Path) -> Result<Workflow, Diagnostic> {
    let id = WorkflowId::parse("booking").unwrap();
    load_workflow_source(&id, "workflows/booking.yaml", text, &env, &sequences(), dir)
}

/// The 1-based line and column of `needle` in `text`.
pub(super) fn pos_of(text: &str, needle: &str) -> Pos {
    let at = text.find(needle).expect("needle in text");
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    Pos {
        line: line as u32,
        column: column as u32,
    }
}

fn template(source: &str, p: Pos) -> Arg {
    Arg::Template {
        source: source.into(),
        pos: p,
    }
}

#[test]
fn the_booking_example_resolves_trigger_and_mapping() {
    let dir = fixture_dir();
    let wf = load(BOOKING, dir.path()).unwrap();
    assert_eq!(wf.name, "OptiMantra booking");
    assert_eq!(wf.status, Status::Published);
    assert_eq!(wf.version.len(), 16);
    assert_eq!(&*wf.source, BOOKING);
    let t = &wf.trigger;
    assert_eq!(
        t.auth,
        AuthConfig::Bearer {
            token: "s3cret-token".into()
        }
    );
    assert_eq!(t.split.as_deref(), Some("$[*]"));
    assert_eq!(
        t.filter.as_ref().unwrap().source,
        "trigger.event == 'appointment.booked'"
    );
    assert_eq!(
        t.filter.as_ref().unwrap().pos,
        pos_of(BOOKING, "trigger.event ==")
    );
    assert!(
        matches!(&t.dedupe, Some(Arg::Template { source, .. }) if source.starts_with("{{ trigger.id"))
    );
    assert_eq!(t.dedupe_window, Duration::from_secs(12 * 3600));
    assert_eq!(
        t.limits,
        Limits {
            max_body: 512 * 1024,
            max_items: DEFAULT_MAX_ITEMS,
            rate: Some(Rate {
                per_second: 10.0,
                burst: 20
            })
        }
    );
    let names: Vec<(&str, bool)> = wf
        .mapping
        .iter()
        .map(|m| (m.name.as_str(), m.single))
        .collect();
    assert_eq!(
        names,
        [
            ("email", true),
            ("first_name", true),
            ("phone", true),
            ("services", false)
        ]
    );
    assert_eq!(wf.mapping[0].pos, pos_of(BOOKING, "$.email"));
}

#[test]
fn the_booking_example_resolves_every_step_kind() {
    let dir = fixture_dir();
    let wf = load(BOOKING, dir.path()).unwrap();
    let kinds: Vec<&str> = wf.steps.iter().map(|s| s.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "find_contact",
            "update_contact",
            "add_tag",
            "add_tag",
            "remove_tag",
            "remove_from_sequence",
            "send_email",
            "set_dnd",
            "wait",
            "wait",
            "if"
        ]
    );
    assert_eq!(wf.steps[2].pos, pos_of(BOOKING, "add_tag: Booked"));
    let StepKind::FindContact(f) = &wf.steps[0].kind else {
        panic!()
    };
    assert_eq!(
        f.email,
        Some(template("{{ email }}", pos_of(BOOKING, "{{ email }}\"")))
    );
    assert!(f.create && f.last_name.is_none());
    let StepKind::UpdateContact(u) = &wf.steps[1].kind else {
        panic!()
    };
    assert_eq!(u.custom[0].0, "last_booking");
    assert!(matches!(&u.custom[1].1, Arg::Literal { value, .. } if value == &json!(1)));
    let StepKind::AddTag(tags) = &wf.steps[3].kind else {
        panic!()
    };
    assert_eq!(
        tags[1],
        template("{{ trigger.clinic }}", pos_of(BOOKING, "{{ trigger.clinic"))
    );
    assert!(
        matches!(&wf.steps[5].kind, StepKind::RemoveFromSequence(id) if id.as_str() == "warming")
    );
    let StepKind::SendEmail(e) = &wf.steps[6].kind else {
        panic!()
    };
    let (path, text) = e.template.as_ref().unwrap();
    assert_eq!(path, "templates/booked.html");
    assert!(text.contains("{{ contact.first_name }}"));
    assert!(e.transactional && e.to.is_none() && e.cc.len() == 1 && e.bcc.len() == 1);
    assert!(matches!(wf.steps[7].kind, StepKind::SetDnd(false)));
    assert!(matches!(&wf.steps[8].kind, StepKind::Wait(Wait::For(d)) if d.as_secs() == 5400));
    assert!(matches!(
        &wf.steps[9].kind,
        StepKind::Wait(Wait::Until { hour: 9, minute: 0 })
    ));
    let StepKind::If(i) = &wf.steps[10].kind else {
        panic!()
    };
    assert_eq!(i.condition.source, "has_tag('vip')");
    assert!(matches!(&i.then[0].kind, StepKind::AddToSequence(id) if id.as_str() == "vip-welcome"));
    assert!(i.otherwise.is_empty());
}

#[test]
fn defaults_apply_when_the_trigger_block_is_empty() {
    let dir = fixture_dir();
    let text =
        "name: Minimal\nstatus: draft\ntrigger:\n  inbound_webhook: {limits: {rate: 2.5/s}}\n";
    let err = load(text, dir.path()).unwrap_err();
    assert!(
        err.message.contains("invalid rate `2.5/s`"),
        "{}",
        err.message
    );
    let text =
        "name: Minimal\nstatus: draft\ntrigger:\n  inbound_webhook: {limits: {rate: 90/m}}\n";
    let wf = load(text, dir.path()).unwrap();
    assert_eq!(wf.status, Status::Draft);
    assert_eq!(wf.trigger.auth, AuthConfig::None);
    assert_eq!(wf.trigger.dedupe_window, Duration::from_secs(24 * 3600));
    assert_eq!(wf.trigger.limits.max_body, 1 << 20);
    // 1.5 per second rounds up to a burst of 2.
    assert_eq!(
        wf.trigger.limits.rate,
        Some(Rate {
            per_second: 1.5,
            burst: 2
        })
    );
    assert!(wf.steps.is_empty() && wf.mapping.is_empty());
}

fn with_auth(auth: &str) -> Result<AuthConfig, Diagnostic> {
    let dir = fixture_dir();
    let text = format!("name: A\ntrigger:\n  inbound_webhook:\n    auth: {auth}\n");
    load(&text, dir.path()).map(|w| w.trigger.auth)
}

#[test]
fn every_auth_form_resolves_with_its_defaults() {
    let cases = [
        ("{type: none}", AuthConfig::None),
        ("{type: basic, username: clinic, password: \"${OPTI_HOOK_TOKEN}\"}",
         AuthConfig::Basic { username: "clinic".into(), password: "s3cret-token".into() }),
        ("{type: header, name: X-Api-Key, value: \"k-${OPTI_HOOK_TOKEN}\"}",
         AuthConfig::Header { name: "X-Api-Key".into(), value: "k-s3cret-token".into() }),
        ("{type: query, name: api_key, value: \"${OPTI_HOOK_TOKEN}\"}",
         AuthConfig::Query { name: "api_key".into(), value: "s3cret-token".into() }),
        ("{type: hmac, header: X-Signature, secret: \"${HMAC_SECRET}\"}",
         AuthConfig::Hmac { header: "X-Signature".into(), secret: b"shh".to_vec(),
             algorithm: HmacAlgorithm::Sha256, encoding: SignatureEncoding::Hex, prefix: String::new() }),
        ("{type: hmac, header: X-Hub-Signature, secret: \"${HMAC_SECRET}\", algorithm: sha1, encoding: base64, prefix: \"sha1=\"}",
         AuthConfig::Hmac { header: "X-Hub-Signature".into(), secret: b"shh".to_vec(),
             algorithm: HmacAlgorithm::Sha1, encoding: SignatureEncoding::Base64, prefix: "sha1=".into() }),
        ("{type: standard_webhooks, secret: \"${WHSEC}\"}",
         AuthConfig::StandardWebhooks { secret: b"hello world".to_vec(), tolerance: Duration::from_secs(300) }),
        ("{type: standard_webhooks, secret: \"${WHSEC}\", tolerance: 10m}",
         AuthConfig::StandardWebhooks { secret: b"hello world".to_vec(), tolerance: Duration::from_secs(600) }),
    ];
    for (yaml, expected) in cases {
        assert_eq!(with_auth(yaml).unwrap(), expected, "{yaml}");
    }
}

#[test]
fn bad_secrets_are_load_errors_at_the_auth_block() {
    let empty = with_auth("{type: bearer, token: \"${EMPTY}\"}").unwrap_err();
    assert!(
        empty.message.contains("auth.token is empty"),
        "{}",
        empty.message
    );
    assert_eq!((empty.line, empty.column), (4, 11));
    let whsec = with_auth("{type: standard_webhooks, secret: \"whsec_!!!\"}").unwrap_err();
    assert!(
        whsec.message.contains("not `whsec_` followed by base64"),
        "{}",
        whsec.message
    );
    let algo = with_auth("{type: hmac, header: X-Sig, secret: x, algorithm: md5}").unwrap_err();
    assert!(
        algo.message.contains("unknown auth.algorithm `md5`"),
        "{}",
        algo.message
    );
    let kind = with_auth("{type: beare, token: x}").unwrap_err();
    assert!(
        kind.message
            .starts_with("unknown auth type `beare`; known: none, basic, bearer"),
        "{}",
        kind.message
    );
}

#[test]
fn a_sequence_loads_with_its_allowed_steps() {
    let dir = fixture_dir();
    let id = WorkflowId::parse("warming").unwrap();
    let seq =
        load_sequence_source(&id, "workflows/sequences/warming.yaml", WARMING, dir.path()).unwrap();
    assert_eq!(seq.name, "Warming");
    let kinds: Vec<&str> = seq.steps.iter().map(|s| s.kind.name()).collect();
    assert_eq!(kinds, ["send_email", "wait", "send_email", "add_tag"]);
}

#[test]
fn a_broken_file_does_not_stop_the_good_one_next_to_it() {
    let dir = fixture_dir();
    std::fs::write(dir.path().join("booking.yaml"), BOOKING).unwrap();
    std::fs::write(dir.path().join("broken.yml"), "name: Broken\ntrigger: [\n").unwrap();
    std::fs::write(dir.path().join("Bad Name.yaml"), BOOKING).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a workflow").unwrap();
    let catalog = load_dir(dir.path(), &env);
    let ids: Vec<&str> = catalog.workflows.keys().map(|k| k.as_str()).collect();
    assert_eq!(ids, ["booking", "broken"]);
    let good = &catalog.workflows[&WorkflowId::parse("booking").unwrap()];
    assert_eq!(good.workflow.as_ref().unwrap().steps.len(), 11);
    let bad = catalog.workflows[&WorkflowId::parse("broken").unwrap()]
        .workflow
        .as_ref()
        .unwrap_err();
    assert_eq!(
        bad.file,
        dir.path().join("broken.yml").display().to_string()
    );
    assert!(bad.line >= 2, "{bad:?}");
    assert_eq!(catalog.sequences.len(), 2);
    assert!(catalog.sequences.values().all(|s| s.sequence.is_ok()));
    assert_eq!(catalog.errors.len(), 1);
    assert!(
        catalog.errors[0].message.contains("not a valid id"),
        "{:?}",
        catalog.errors
    );
    assert_eq!(catalog.all_errors().len(), 2);
}

#[test]
fn lint_warns_about_mapping_paths_that_match_nothing_in_the_reference() {
    let dir = fixture_dir();
    let wf = load(BOOKING, dir.path()).unwrap();
    let reference = json!([{"email": "ann@example.com", "firstName": "Ann", "services": [{"name": "Acupuncture"}]}]);
    let warnings = lint_mapping(&wf, "workflows/booking.yaml", &reference);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0].message,
        "mapping `phone`: `$.phone` matches nothing in the captured reference"
    );
    let p = pos_of(BOOKING, "$.phone");
    assert_eq!((warnings[0].line, warnings[0].column), (p.line, p.column));
    let full = json!([{"email": "a@b.c", "firstName": "A", "phone": "555", "services": []}]);
    // An empty array still matches nothing for a wildcard path.
    assert_eq!(lint_mapping(&wf, "f", &full).len(), 1);
}
