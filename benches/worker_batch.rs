//! The run worker's cost a booking: `optimantra-booking` (find or create the contact, update
//! it, tag it, leave a sequence, queue an email) for new patients, a batch of 64 queued items
//! at a time, on a real sled store in a temp dir. Intake queues each batch outside the timing;
//! what is measured is the process's CPU time during `Worker::drain` (the worker's thread, the
//! committer's flush, sled's threads), on which the sustained figure of `scripts/bench.sh`
//! depends.
//!   cargo bench --bench worker_batch
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hookflow::domain::time::ClockMode;
use hookflow::engine::executor::Executor;
use hookflow::engine::step::email::MailSettings;
use hookflow::engine::template::Renderer;
use hookflow::engine::worker::Worker;
use hookflow::intake::{Hook, InboundRequest, Intake, Target};
use hookflow::store::clock::Clock;
use hookflow::store::runs::RunFilter;
use hookflow::store::Store;
use hookflow::workflow::live::LiveCatalog;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The allocator the `hookflow` binary uses (src/main.rs), so the figures compare like with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: u64 = 64;

struct Engine {
    _data: tempfile::TempDir,
    intake: Intake,
    target: Target,
    worker: Worker,
    runtime: tokio::runtime::Runtime,
    next: std::cell::Cell<u64>,
    /// The OptiMantra booking sample; each booking gets its own patient.
    sample: serde_json::Value,
}

impl Engine {
    fn new() -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workflows = repo.join("workflows");
        let data = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(data.path()).expect("a new store");
        let catalog = Arc::new(LiveCatalog::load(&workflows));
        let clock = Clock::new(ClockMode::Real, store.clone()).expect("a clock");
        let renderer = Arc::new(Renderer::new());
        let queued = Arc::new(tokio::sync::Notify::new());
        let intake = Intake::new(
            store.clone(),
            catalog.clone(),
            clock.clone(),
            renderer.clone(),
            queued.clone(),
        );
        let mail = MailSettings {
            from: "hookflow <noreply@localhost>".into(),
            public_url: "http://127.0.0.1:8787".into(),
        };
        let executor = Executor::new(
            store.clone(),
            catalog.clone(),
            clock,
            renderer,
            "US".into(),
            "UTC".into(),
            mail,
        );
        let worker = Worker::new(Arc::new(executor), queued);
        let id = catalog
            .current()
            .workflows
            .keys()
            .find(|id| id.as_str() == "optimantra-booking")
            .expect("the shipped booking workflow")
            .clone();
        let hook = store.hook_id_for(&id).expect("a hook id");
        let Ok(Hook::Ready(target)) = intake.resolve(hook.as_str()) else {
            panic!("optimantra-booking does not load");
        };
        Self {
            _data: data,
            intake,
            target,
            worker,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            next: std::cell::Cell::new(0),
            sample: serde_json::from_slice(
                &std::fs::read(repo.join("samples/optimantra/booking.json"))
                    .expect("the booking sample"),
            )
            .expect("JSON"),
        }
    }

    /// Accepts a batch of bookings of new patients (each its own email, phone and name).
    fn queue_batch(&self) {
        for _ in 0..BATCH {
            let i = self.next.get();
            self.next.set(i + 1);
            let mut body = self.sample.clone();
            body["email"] = format!("patient{i}@example.org").into();
            body["firstName"] = format!("Pat{i}").into();
            body["phone"] = format!("+1212{:07}", 2_000_000 + i).into();
            body["appointmentId"] = format!("OM-{i}").into();
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "content-type",
                "application/json".parse().expect("a header"),
            );
            let body = Bytes::from(serde_json::to_vec(&body).expect("JSON"));
            let req = InboundRequest {
                method: "POST".into(),
                headers,
                query: String::new(),
                body_size: body.len() as u64,
                body,
                truncated: false,
                remote: None,
            };
            let answer = self
                .runtime
                .block_on(self.intake.receive(&self.target, req));
            assert!(answer.is_ok(), "the booking was not accepted");
        }
    }

    /// Panics when a run failed: the figures are of runs that succeed.
    fn check_runs(&self) {
        let filter = RunFilter {
            status: Some("failed".into()),
            ..RunFilter::default()
        };
        let failed = self.worker.store.runs(&filter, None, 1).expect("runs");
        assert!(
            failed.items.is_empty(),
            "a booking run failed: {:?}",
            failed.items[0]
        );
    }
}

/// CPU time used by every thread of this process so far.
fn process_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill in.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(ok, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn worker(c: &mut Criterion) {
    let engine = Engine::new();
    let mut g = c.benchmark_group("worker");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(30);
    // The process's CPU time, not the wall clock: the machine these run on is CPU-bound
    // under load, and the drain's wait for the disk (one flush a batch) is not CPU.
    g.bench_function("booking_new_patient_batch_of_64_cpu", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                engine.queue_batch();
                let start = process_cpu();
                engine.worker.drain().expect("the worker drains");
                spent += process_cpu() - start;
                engine.check_runs();
            }
            spent
        })
    });
    g.finish();
}

criterion_group!(benches, worker);
criterion_main!(benches);
