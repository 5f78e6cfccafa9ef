//! Micro-benchmarks of the per-request hot pieces, on the shipped workflows and samples:
//! body parsing (strict JSON, as the hook handler reads it), matching (mapping paths, the
//! trigger filter and dedupe key per item), templating (an email's subject and HTML body, a
//! run's step contexts), storing (a booking's run record through the store's codec, against
//! plain JSON; a stored request as its handler encodes it) and events (a stored request's live
//! event as JSON).
//!   cargo bench --bench hot_paths                      (add `-- parse` to run one group)
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hookflow::engine::context::{run_context, RunContext};
use hookflow::engine::template::{Context, Renderer};
use hookflow::sender::body::{decode_and_parse, default_split};
use hookflow::workflow::{load_dir, paths, Pos, SendEmail, StepKind, Workflow};
use serde_json::{json, Value};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

/// The allocator the `hookflow` binary uses (src/main.rs), so the figures compare like with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LIMIT: u64 = 1 << 20;
const JSON: Option<&str> = Some("application/json");

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn workflow(id: &str) -> Arc<Workflow> {
    let catalog = load_dir(&repo("workflows"), &|_| None);
    let entry = catalog
        .workflows
        .values()
        .find(|e| e.id.as_str() == id)
        .unwrap_or_else(|| panic!("workflows/{id}.yaml is shipped"));
    entry.workflow.clone().expect("the shipped workflow loads")
}

fn booking_body() -> Vec<u8> {
    std::fs::read(repo("samples/optimantra/booking.json")).expect("the booking sample")
}

/// 100 Embodia events: the mixed sample's items in turn, each with its own consult and
/// participant ids, as one array (Embodia posts arrays).
fn embodia_body() -> Vec<u8> {
    let text = std::fs::read(repo("samples/embodia/consult-mixed.json")).expect("the sample");
    let sample: Vec<Value> = serde_json::from_slice(&text).expect("an array");
    let items: Vec<Value> = (0..100)
        .map(|i| {
            let mut item = sample[i % sample.len()].clone();
            item["consult"]["id"] = json!(48000 + i);
            if item.get("participant").is_some() {
                item["participant"]["id"] = json!(90000 + i);
                item["participant"]["email"] = json!(format!("patient{i}@example.org"));
            }
            item
        })
        .collect();
    serde_json::to_vec_pretty(&items).expect("serialises")
}

fn request_ctx() -> Value {
    json!({"headers": {"content-type": "application/json"}, "query": {},
           "received_at": "2026-12-01T10:00:00Z", "method": "POST"})
}

fn parsing(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, body) in [
        ("optimantra_booking", booking_body()),
        ("embodia_100_items", embodia_body()),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let decoded =
                    decode_and_parse(JSON, None, black_box(&body), "", LIMIT).expect("parses");
                default_split(decoded.payload)
            })
        });
    }
    g.finish();
}

fn matching(c: &mut Criterion) {
    let renderer = Renderer::new();
    let request = request_ctx();
    let mut g = c.benchmark_group("match");

    let booking = workflow("optimantra-booking");
    let item: Value = serde_json::from_slice(&booking_body()).expect("JSON");
    g.bench_function("booking_mapping_4_paths", |b| {
        b.iter(|| {
            booking
                .mapping
                .iter()
                .map(|entry| paths::evaluate(entry, black_box(&item)))
                .collect::<Vec<_>>()
        })
    });

    // What intake decides per item: the context (mapping included), the filter, the dedupe key.
    let embodia = workflow("embodia-consults");
    let filter = embodia
        .trigger
        .filter
        .clone()
        .expect("embodia has a filter");
    let dedupe = embodia
        .trigger
        .dedupe
        .clone()
        .expect("embodia has a dedupe key");
    let payload = decode_and_parse(JSON, None, &embodia_body(), "", LIMIT)
        .expect("parses")
        .payload;
    let items = default_split(payload);
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("embodia_100_items_filter_and_dedupe", |b| {
        b.iter(|| {
            let mut passed = 0;
            for item in &items {
                let ctx = run_context(&embodia, item, &request, Value::Null, 0);
                if renderer.eval_condition(&filter, &ctx).expect("evaluates") {
                    renderer.render_arg(&dedupe, &ctx).expect("renders");
                    passed += 1;
                }
            }
            passed
        })
    });
    g.finish();
}

fn send_email_step(wf: &Workflow) -> SendEmail {
    wf.steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::SendEmail(e) => Some(e.clone()),
            _ => None,
        })
        .expect("the booking workflow sends an email")
}

fn templating(c: &mut Criterion) {
    let renderer = Renderer::new();
    let booking = workflow("optimantra-booking");
    let email = send_email_step(&booking);
    let item: Value = serde_json::from_slice(&booking_body()).expect("JSON");
    let contact = json!({"id": "01JXT21Q00BEM6ZTXV0ZB489QW", "first_name": "Jane",
        "last_name": "Doe", "email": "jane.doe@example.com", "phone": "+14155550132",
        "tags": ["Booked"], "dnd": false, "custom": {"last_booking": "2026-12-03"}});
    let ctx: Context = run_context(&booking, &item, &request_ctx(), contact.clone(), 0);
    let (_, html) = email.template.clone().expect("a template file");
    let mut g = c.benchmark_group("template");
    g.bench_function("booking_subject", |b| {
        b.iter(|| {
            renderer
                .render_arg(black_box(&email.subject), &ctx)
                .expect("renders")
        })
    });
    g.bench_function("booking_confirmation_html", |b| {
        b.iter(|| {
            renderer
                .render_text(black_box(&html), &ctx, true)
                .expect("renders")
        })
    });
    // The contexts of a booking run's five steps, each with the contact as it then was: made
    // afresh at every step (as before) and kept from step to step (`RunContext`, as now).
    let contacts: Vec<Value> = (0..5)
        .map(|i| match i {
            0 => Value::Null,
            _ => {
                let mut c = contact.clone();
                c["custom"]["step"] = json!(i);
                c
            }
        })
        .collect();
    g.bench_function("booking_run_five_step_contexts_made_afresh", |b| {
        b.iter(|| {
            for c in &contacts {
                let ctx = run_context(&booking, &item, &request_ctx(), c.clone(), 0);
                black_box(renderer.render_value("{{ first_name }}", Pos::default(), &ctx))
                    .expect("renders");
            }
        })
    });
    g.bench_function("booking_run_five_step_contexts_kept", |b| {
        b.iter(|| {
            let kept = RunContext::default();
            for c in &contacts {
                let ctx = kept.for_step(&booking, &item, &request_ctx(), c.clone(), 0);
                black_box(renderer.render_value("{{ first_name }}", Pos::default(), &ctx))
                    .expect("renders");
            }
        })
    });
    // What a send_email step does: its context made, then the subject and the body rendered.
    g.bench_function("booking_email_step_context_and_renders", |b| {
        b.iter(|| {
            let ctx = run_context(&booking, &item, &request_ctx(), contact.clone(), 0);
            let subject = renderer.render_arg(black_box(&email.subject), &ctx);
            let body = renderer.render_text(black_box(&html), &ctx, true);
            (subject.expect("renders"), body.expect("renders"))
        })
    });
    g.finish();
}

fn storing(c: &mut Criterion) {
    use hookflow::store::codec;
    let run: Value =
        serde_json::from_slice(&std::fs::read(repo("benches/booking_run.json")).expect("the run"))
            .expect("JSON");
    let stored = codec::encode(&run);
    let mut g = c.benchmark_group("store");
    g.bench_function("booking_run_to_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&run)).expect("serialises"))
    });
    g.bench_function("booking_run_encode", |b| {
        b.iter(|| codec::encode(black_box(&run)))
    });
    g.bench_function("booking_run_decode", |b| {
        b.iter(|| codec::decode::<Value>("runs", black_box(&stored)).expect("decodes"))
    });
    let request = booking_request();
    eprintln!(
        "booking request JSON in a page: {} bytes (compressed on its own with its payload: {})",
        request.stored_bytes().len(),
        codec::encode(&request).len()
    );
    g.bench_function("booking_request_encode_with_payload", |b| {
        b.iter(|| codec::encode(black_box(&request)))
    });
    g.bench_function("booking_request_encode", |b| {
        b.iter(|| black_box(&request).stored_bytes())
    });
    g.finish();
}

/// The booking sample as the request log keeps it (a draft's captured request), as the
/// handler encodes it for the committer (`stored_bytes`: without the payload it parsed from
/// the body) and as it was stored before (the payload too).
fn booking_request() -> hookflow::store::requests::RequestRecord {
    use hookflow::store::requests::{ItemRecord, ItemStatus, RequestRecord};
    let body = booking_body();
    RequestRecord {
        id: "01KBE4Q0Z8K9D5S0W3V6B2N1M4".into(),
        workflow: "telehealth-visits".into(),
        received_at: "2026-12-01T10:00:00.123Z".into(),
        method: "POST".into(),
        remote_addr: Some("127.0.0.1:54321".into()),
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            ("content-type".into(), "application/json".into()),
            ("content-length".into(), body.len().to_string()),
        ],
        query: String::new(),
        content_type: Some("application/json".into()),
        body: String::from_utf8(body.clone()).expect("UTF-8"),
        body_size: body.len() as u64,
        body_truncated: false,
        status: ItemStatus::Captured,
        http_status: 200,
        reason: None,
        payload: serde_json::from_slice(&body).expect("JSON"),
        items: vec![ItemRecord {
            index: 0,
            status: ItemStatus::Captured,
            run_id: None,
            dedupe_key: None,
            error: None,
        }],
        replay_of: None,
        payload_is_body: true,
    }
}

fn events(c: &mut Criterion) {
    use hookflow::events::{Event, ItemEvent, RequestEvent};
    let event = Event::Request(RequestEvent {
        request_id: "01KBE4Q0Z8K9D5S0W3V6B2N1M4".into(),
        workflow: "optimantra-booking".into(),
        method: "POST".into(),
        status: "accepted".into(),
        http_status: 200,
        reason: None,
        items: vec![ItemEvent {
            index: 0,
            status: "accepted".into(),
            run_id: Some("01KBE4Q0Z8K9D5S0W3V6B2N1M5".into()),
        }],
    });
    let mut g = c.benchmark_group("events");
    g.bench_function("request_event_to_json", |b| {
        b.iter(|| black_box(&event).to_json("2026-12-01T10:00:00.123Z"))
    });
    g.finish();
}

criterion_group!(benches, parsing, matching, templating, storing, events);
criterion_main!(benches);
