//! Live events: what happens in hookflow (requests, runs, emails, timers, workflow changes), as
//! a stream for `GET /api/events`, the admin page's live tail and `hookflow tail`.
//!
//! One [`EventBus`] is made at start-up and handed to intake, the engine, the mailer and the
//! reloader; each publishes with one call. Every event gets a process-wide, strictly increasing
//! id and is kept in a ring of the newest [`RING`] so that a client that reconnects with
//! `Last-Event-ID` misses nothing recent. Publishing never waits for a reader: a reader that
//! falls behind the broadcast channel catches up from the ring, and one that falls behind the
//! ring as well is told which ids it lost (a `lost` event). Events are not stored: after a
//! restart ids start again at 1.
//!
//! Events carry ids, workflow ids, statuses, counts and times, never payload or contact values
//! (bodies, headers, hook ids, emails, phones, names, subjects): they are shown on screens and
//! may be copied into tickets.

mod event;
mod redact;

pub use event::{
    EmailEvent, Event, ItemEvent, RequestEvent, RunEvent, StepEvent, TimerEvent, WorkflowEvent,
};
pub use redact::redact;

use crate::domain::time::{rfc3339, Millis};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// How many of the newest events are kept for readers that reconnect: hours of a clinic's
/// traffic, seconds of a load test. Each kept event holds half a KiB in small blocks that
/// outlive the requests around them; 10,000 of them were 5.7 MB of the heap's 44 MB peak under
/// the sustained bookings (heaptrack) and kept more pages of the allocator from going back.
pub const RING: usize = 2_000;

/// How many runs' workflows are remembered for their email events (see [`Ring`]): a backlog
/// of emails may be sent long after their runs' events left the ring.
const RUN_WORKFLOWS: usize = 10_000;

/// Live readers get events through a channel this deep before they must catch up from the ring.
const CHANNEL: usize = 1_024;

/// One published event, ready to send.
#[derive(Debug, Clone)]
pub struct Published {
    /// Process-wide, strictly increasing, from 1.
    pub id: u64,
    /// `request`, `run`, `email`, `timer` or `workflow`.
    pub kind: &'static str,
    event: Event,
    /// The workflow of a run's timer (the event names only the run).
    timer_workflow: Option<String>,
    /// When it was published (hookflow's clock), written out with the JSON.
    at: Millis,
    /// The JSON of the `data:` line, made when a reader first needs it: most events are
    /// published with nobody reading, and their JSON was 1 % of a draft request's CPU.
    data: std::sync::OnceLock<String>,
}

impl Published {
    /// The JSON of the `data:` line.
    pub fn data(&self) -> &str {
        self.data
            .get_or_init(|| self.event.to_json(&rfc3339(self.at)))
    }

    /// The workflow it concerns (for `?workflow=`), if any.
    pub fn workflow(&self) -> Option<&str> {
        self.timer_workflow.as_deref().or(self.event.workflow())
    }
}

/// The time source that stamps `at` (hookflow's clock, manual or real).
pub type Now = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The in-process event bus: a broadcast channel for live readers plus a replay ring.
pub struct EventBus {
    now: Now,
    inner: Mutex<Ring>,
    live: broadcast::Sender<Arc<Published>>,
    /// True once the server shuts down: streams end so that it need not wait for them.
    closed: watch::Sender<bool>,
}

struct Ring {
    next_id: u64,
    kept: VecDeque<Arc<Published>>,
    /// The workflows of the newest runs, so email events (the mailer knows only the run) can be
    /// narrowed by workflow too.
    run_workflows: RunWorkflows,
}

/// Run id → workflow for the newest [`RUN_WORKFLOWS`] runs: when full, the oldest run is
/// forgotten (emptying it all at once lost the workflow of every email still due).
#[derive(Default)]
struct RunWorkflows {
    by_run: HashMap<Arc<str>, String>,
    /// The remembered runs, oldest first.
    order: VecDeque<Arc<str>>,
}

impl RunWorkflows {
    /// Remembers `run`'s workflow; a run already remembered keeps its place.
    fn note(&mut self, run: &str, workflow: &str) {
        if self.by_run.contains_key(run) {
            return;
        }
        if self.order.len() == RUN_WORKFLOWS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_run.remove(&oldest);
            }
        }
        let run: Arc<str> = Arc::from(run);
        self.by_run.insert(run.clone(), workflow.to_owned());
        self.order.push_back(run);
    }

    /// The workflow of `run`, if it is remembered.
    fn of(&self, run: Option<&str>) -> Option<String> {
        run.and_then(|r| self.by_run.get(r).cloned())
    }
}

impl Default for EventBus {
    /// A bus stamped with the wall clock (for parts built without the application's clock).
    fn default() -> Self {
        Self::new(Arc::new(crate::domain::time::wall_now_ms))
    }
}

impl EventBus {
    /// A bus whose events are stamped with `now`.
    pub fn new(now: Now) -> Self {
        let (live, _) = broadcast::channel(CHANNEL);
        let (closed, _) = watch::channel(false);
        Self {
            closed,
            now,
            inner: Mutex::new(Ring {
                next_id: 1,
                kept: VecDeque::with_capacity(1024),
                run_workflows: RunWorkflows::default(),
            }),
            live,
        }
    }

    /// Publishes one event to every reader; never waits for one.
    pub fn publish(&self, mut event: Event) {
        count(&event);
        let at = (self.now)();
        let mut ring = self.ring();
        match &mut event {
            Event::Run(r) => ring.run_workflows.note(&r.run_id, &r.workflow),
            Event::Email(e) if e.workflow.is_none() => {
                e.workflow = ring.run_workflows.of(e.run_id.as_deref());
            }
            _ => {}
        }
        let kind = event.kind();
        // A run's wait belongs to the run's workflow (for `?workflow=`); a sequence's timers
        // belong to no workflow.
        let timer_workflow = match &event {
            Event::Timer(t) => ring.run_workflows.of(t.run_id.as_deref()),
            _ => None,
        };
        let published = Arc::new(Published {
            id: ring.next_id,
            kind,
            event,
            timer_workflow,
            at,
            data: std::sync::OnceLock::new(),
        });
        ring.next_id += 1;
        if ring.kept.len() == RING {
            ring.kept.pop_front();
        }
        ring.kept.push_back(published.clone());
        // Sent under the lock, so live readers see ids in order; no reader is an `Err`, not
        // a problem.
        let _ = self.live.send(published);
    }

    /// Publishes several events in order.
    pub fn publish_all(&self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            self.publish(e);
        }
    }

    /// Ends every reader's stream (at shutdown); publishing still works.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// A reader starting after `last_id` (`None`: only new events).
    pub fn subscribe(self: &Arc<Self>, last_id: Option<u64>) -> Subscription {
        let ring = self.ring();
        let live = self.live.subscribe();
        let newest = ring.next_id - 1;
        // An id we never handed out (a server restarted since) means "from now on".
        let after = last_id.filter(|&id| id <= newest).unwrap_or(newest);
        let backlog = Self::kept_after(&ring, after);
        drop(ring);
        let mut sub = Subscription {
            closed: self.closed.subscribe(),
            bus: self.clone(),
            live,
            backlog,
            last: after,
            lost: None,
        };
        sub.note_gap();
        sub
    }

    fn kept_after(ring: &Ring, after: u64) -> VecDeque<Arc<Published>> {
        ring.kept.iter().filter(|p| p.id > after).cloned().collect()
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Counts runs and emails for `/metrics` as they are announced: every change of a run's or an
/// email's status passes through here, whichever part made it.
fn count(event: &Event) {
    match event {
        Event::Run(r) => crate::metrics::run_reached(&r.workflow, &r.status),
        Event::Email(e) => crate::metrics::email_reached(&e.state),
        _ => {}
    }
}

/// What a reader gets next.
#[derive(Debug, Clone)]
pub enum Next {
    /// An event, in id order.
    Event(Arc<Published>),
    /// Events `from..=to` were dropped before this reader got them (it was too slow).
    Lost { from: u64, to: u64 },
}

/// One reader of the bus: the kept events it missed first, then live ones.
pub struct Subscription {
    closed: watch::Receiver<bool>,
    bus: Arc<EventBus>,
    live: broadcast::Receiver<Arc<Published>>,
    backlog: VecDeque<Arc<Published>>,
    /// The id of the last event handed out (or skipped as already seen).
    last: u64,
    lost: Option<(u64, u64)>,
}

impl Subscription {
    /// The next event; waits for one when none is pending. `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<Next> {
        loop {
            if *self.closed.borrow() {
                return None;
            }
            if let Some((from, to)) = self.lost.take() {
                return Some(Next::Lost { from, to });
            }
            if let Some(p) = self.backlog.pop_front() {
                if p.id > self.last {
                    self.last = p.id;
                    return Some(Next::Event(p));
                }
                continue;
            }
            let received = tokio::select! {
                r = self.live.recv() => r,
                _ = self.closed.changed() => return None,
            };
            match received {
                Ok(p) if p.id <= self.last => continue,
                Ok(p) => {
                    self.last = p.id;
                    return Some(Next::Event(p));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Fell behind the channel: catch up from the ring, then go on live.
                    self.backlog = EventBus::kept_after(&self.bus.ring(), self.last);
                    self.note_gap();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Records a gap between the last id handed out and the oldest one still kept.
    fn note_gap(&mut self) {
        if let Some(first) = self.backlog.front() {
            if first.id > self.last + 1 {
                self.lost = Some((self.last + 1, first.id - 1));
            }
        }
    }
}

#[cfg(test)]
mod tests;
