//! What `GET /metrics` reports, recorded through the `metrics` facade and rendered as
//! Prometheus text by `metrics-exporter-prometheus` (its recorder only: the route is ours, behind
//! the admin token).
//!
//! Every series hookflow records is named here, with one function per thing that happens, so the
//! sites that record stay one line each and the names and labels live in one place. Labels carry
//! only workflow ids and statuses, never a hook id, a contact value or a payload value: metrics
//! are scraped into other systems and kept for months. Counters start at zero with each process
//! (Prometheus reads a drop as a restart); the gauges are read from the store at scrape time.
//!
//! Until [`install`] runs (the CLI's offline commands, unit tests) recording does nothing.

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// Requests answered, by workflow and status (`accepted`, `captured`, `filtered`, `duplicate`,
/// `rejected`).
pub const REQUESTS: &str = "hookflow_requests_total";
/// Items of stored requests, by workflow and status.
pub const ITEMS: &str = "hookflow_items_total";
/// Runs that reached a status (`queued`, `waiting`, `succeeded`, `failed`), by workflow.
pub const RUNS: &str = "hookflow_runs_total";
/// Emails that reached a delivery state, by state.
pub const EMAILS: &str = "hookflow_emails_total";
/// Time from a request's arrival to its 2xx (after the flush), in seconds.
pub const ACK_LATENCY: &str = "hookflow_ack_latency_seconds";
/// Waiters one group-commit flush made durable.
pub const FLUSH_BATCH: &str = "hookflow_flush_batch_size";
/// Store transactions whose reads changed before their commit: `retried` without sled's lock,
/// `locked` when the body then ran under it (see `store::txn`).
pub const TRANSACTION_RETRIES: &str = "hookflow_transaction_retries_total";
/// Accepted items whose run has not started.
pub const QUEUE_DEPTH: &str = "hookflow_run_queue_depth";
/// Timers whose due time has come and that have not fired yet.
pub const TIMERS_DUE: &str = "hookflow_timers_due";
/// Timers scheduled, due or not.
pub const TIMERS: &str = "hookflow_timers_scheduled";
/// Emails not in a final state, by state (`queued`, `sending`).
pub const OUTBOX: &str = "hookflow_outbox_emails";
/// Rejected requests kept in the bounded rejected log, by workflow.
pub const REJECTED_LOG: &str = "hookflow_rejected_log_requests";
/// Log lines dropped because stderr did not keep up (see `crate::logging`).
pub const LOG_LINES_DROPPED: &str = "hookflow_log_lines_dropped_total";

const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// Workflows whose rejected-log size was reported, so an emptied log can read 0.
static REJECTED_SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Installs the process-wide recorder (once; later calls do nothing) and a thread that drains
/// histogram samples every few seconds, so memory stays bounded when nobody scrapes.
pub fn install() {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(ACK_LATENCY.into()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(FLUSH_BATCH.into()), BATCH_BUCKETS)
            })
            .and_then(|b| b.install_recorder())
            .unwrap_or_else(|e| {
                // Another recorder was installed first (a test harness): keep a private one.
                tracing::warn!(error = %e, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            });
        describe();
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("hookflow-metrics".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
        handle
    });
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS, "Requests answered, by workflow and status.");
    describe_counter!(ITEMS, "Items of stored requests, by workflow and status.");
    describe_counter!(RUNS, "Runs that reached a status, by workflow and status.");
    describe_counter!(EMAILS, "Emails that reached a delivery state.");
    describe_histogram!(
        ACK_LATENCY,
        Unit::Seconds,
        "From a request's arrival to its acknowledgement (stored and flushed)."
    );
    describe_histogram!(
        FLUSH_BATCH,
        "Waiters made durable by one group-commit flush."
    );
    describe_counter!(
        TRANSACTION_RETRIES,
        "Store transactions run again because a value they read changed, by how."
    );
    describe_gauge!(QUEUE_DEPTH, "Accepted items whose run has not started.");
    describe_gauge!(TIMERS_DUE, "Timers due and not fired yet.");
    describe_gauge!(TIMERS, "Timers scheduled.");
    describe_gauge!(OUTBOX, "Emails not in a final state, by state.");
    describe_gauge!(REJECTED_LOG, "Rejected requests kept in the rejected log.");
    describe_counter!(
        LOG_LINES_DROPPED,
        "Log lines dropped because stderr did not keep up."
    );
}

/// A request to a known hook was answered with `status`; `acked` is the time to a 2xx.
pub fn request_answered(workflow: &str, status: &'static str, acked: Option<Duration>) {
    by_workflow(REQUESTS, workflow, status).increment(1);
    let Some(latency) = acked.map(|d| d.as_secs_f64()) else {
        return;
    };
    match HANDLE.get() {
        Some(_) => ACK_HISTOGRAM
            .get_or_init(|| histogram!(ACK_LATENCY))
            .record(latency),
        None => histogram!(ACK_LATENCY).record(latency),
    }
}

/// One item of a stored request ended as `status`.
pub fn item_stored(workflow: &str, status: &'static str) {
    by_workflow(ITEMS, workflow, status).increment(1);
}

/// The ack-latency histogram, registered once [`install`] has run.
static ACK_HISTOGRAM: OnceLock<metrics::Histogram> = OnceLock::new();

/// Counters of `name` by (status, workflow), registered once each: making the labelled key and
/// finding it in the recorder's registry on every request was 1.5 % of a draft request's CPU.
/// Workflow ids are a bounded set (only known hooks count), so this stays small.
type Labelled = HashMap<(&'static str, &'static str), HashMap<String, metrics::Counter>>;
static LABELLED: LazyLock<RwLock<Labelled>> = LazyLock::new(RwLock::default);

/// The counter `name{workflow, status}`; before [`install`] a fresh one each time (recording
/// does nothing then, and a handle kept from that time would stay a no-op).
fn by_workflow(name: &'static str, workflow: &str, status: &'static str) -> metrics::Counter {
    let make = || counter!(name, "workflow" => workflow.to_string(), "status" => status);
    if HANDLE.get().is_none() {
        return make();
    }
    let cached = LABELLED.read().unwrap_or_else(|p| p.into_inner());
    if let Some(counter) = cached.get(&(name, status)).and_then(|m| m.get(workflow)) {
        return counter.clone();
    }
    drop(cached);
    let mut cache = LABELLED.write().unwrap_or_else(|p| p.into_inner());
    let counter = make();
    cache
        .entry((name, status))
        .or_default()
        .insert(workflow.to_string(), counter.clone());
    counter
}

/// A run reached `status`.
pub fn run_reached(workflow: &str, status: &str) {
    counter!(RUNS, "workflow" => workflow.to_string(), "status" => status.to_string()).increment(1);
}

/// An email reached delivery `state`.
pub fn email_reached(state: &str) {
    counter!(EMAILS, "state" => state.to_string()).increment(1);
}

/// One group-commit flush made `waiters` callers durable.
pub fn flush_batch(waiters: u64) {
    histogram!(FLUSH_BATCH).record(waiters as f64);
}

/// A store transaction's reads changed before its commit; `locked`: its body then ran under
/// sled's lock.
pub fn transaction_retried(locked: bool) {
    let how = if locked { "locked" } else { "retried" };
    counter!(TRANSACTION_RETRIES, "how" => how).increment(1);
}

/// The store's levels at scrape time.
#[derive(Debug, Default, Clone)]
pub struct Levels {
    /// Queue entries waiting for a run.
    pub queue_depth: u64,
    /// Timers due and not fired.
    pub timers_due: u64,
    /// Timers scheduled.
    pub timers: u64,
    /// Emails queued (waiting for an attempt or a retry).
    pub outbox_queued: u64,
    /// Emails being sent.
    pub outbox_sending: u64,
    /// Rejected requests kept, per workflow.
    pub rejected: Vec<(String, u64)>,
}

/// The Prometheus text of every series, with the gauges set from `levels`; empty when
/// [`install`] never ran.
pub fn render(levels: &Levels) -> String {
    let Some(handle) = HANDLE.get() else {
        return String::new();
    };
    counter!(LOG_LINES_DROPPED).absolute(crate::logging::dropped_lines());
    gauge!(QUEUE_DEPTH).set(levels.queue_depth as f64);
    gauge!(TIMERS_DUE).set(levels.timers_due as f64);
    gauge!(TIMERS).set(levels.timers as f64);
    gauge!(OUTBOX, "state" => "queued").set(levels.outbox_queued as f64);
    gauge!(OUTBOX, "state" => "sending").set(levels.outbox_sending as f64);
    // A workflow whose rejected log was emptied (a reset) reads 0, not its last size.
    let mut seen = REJECTED_SEEN.lock().unwrap_or_else(|p| p.into_inner());
    for workflow in seen.iter() {
        if !levels.rejected.iter().any(|(w, _)| w == workflow) {
            gauge!(REJECTED_LOG, "workflow" => workflow.clone()).set(0.0);
        }
    }
    for (workflow, n) in &levels.rejected {
        gauge!(REJECTED_LOG, "workflow" => workflow.clone()).set(*n as f64);
        seen.insert(workflow.clone());
    }
    drop(seen);
    handle.render()
}
