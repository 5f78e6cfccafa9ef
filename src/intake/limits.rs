//! Per-workflow rate limits (token buckets from `trigger.inbound_webhook.limits`), always on the
//! wall clock so a manual test clock cannot open the gates.

use super::{IntakeError, IntakeErrorKind};
use crate::domain::ids::WorkflowId;
use crate::workflow::{Rate, Workflow};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One limiter per workflow, rebuilt when the workflow's rate changes.
#[derive(Default)]
pub struct Limiters {
    by_workflow: Mutex<HashMap<WorkflowId, (Rate, Arc<DefaultDirectRateLimiter>)>>,
}

impl Limiters {
    /// `Ok` when the workflow may take one more request now.
    pub fn check(&self, id: &WorkflowId, wf: &Workflow) -> Result<(), IntakeError> {
        let Some(rate) = wf.trigger.limits.rate else {
            return Ok(());
        };
        let limiter = {
            let mut map = self.by_workflow.lock().expect("limiter lock");
            match map.get(id) {
                Some((r, l)) if *r == rate => l.clone(),
                _ => {
                    let l = Arc::new(RateLimiter::direct(quota(rate)));
                    map.insert(id.clone(), (rate, l.clone()));
                    l
                }
            }
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            IntakeError::new(
                IntakeErrorKind::RateLimited {
                    retry_after: wait.max(Duration::from_secs(1)),
                },
                format!("rate limit of {}/s exceeded; retry later", rate.per_second),
            )
        })
    }
}

fn quota(rate: Rate) -> Quota {
    let period = Duration::from_secs_f64(1.0 / rate.per_second.max(0.001));
    let burst = NonZeroU32::new(rate.burst.max(1)).expect("burst is at least 1");
    Quota::with_period(period)
        .expect("period is positive")
        .allow_burst(burst)
}
