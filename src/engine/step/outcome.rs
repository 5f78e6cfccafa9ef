//! What a step gives back: its outcome and where the run goes next, or the failure that
//! aborts its transaction. Kept apart from the other step kinds so `email` and `step` both
//! build on it without needing each other.

use crate::store::runs::StepStatus;
use crate::store::step_tx::Abort;
use serde_json::Value;

/// Where the run goes after a step.
pub enum Next {
    Continue,
    Branch(&'static str),
    /// Stay at this step until its timer fires.
    Wait,
}

/// What a step did.
pub struct StepOutcome {
    pub status: StepStatus,
    pub input: Value,
    pub output: Value,
    pub next: Next,
    /// `Some(new)` when the step changed the run's contact.
    pub contact_id: Option<Option<String>>,
}

/// Why a step failed: the message, and the input as far as it was templated.
#[derive(Debug, Clone)]
pub struct StepFailure {
    pub input: Value,
    pub message: String,
}

/// A step's result inside its transaction.
pub type StepResult<T> = Result<T, Abort<StepFailure>>;

impl StepFailure {
    /// A failure with the input templated so far.
    pub(crate) fn new(input: &Value, message: impl Into<String>) -> Self {
        StepFailure {
            input: input.clone(),
            message: message.into(),
        }
    }
}

/// Fails the step with `message`.
pub(crate) fn fail<T>(input: &Value, message: impl Into<String>) -> StepResult<T> {
    Err(Abort::fail(StepFailure::new(input, message)))
}

/// An outcome that goes on to the next step.
pub(crate) fn outcome(status: StepStatus, input: Value, output: Value) -> StepOutcome {
    StepOutcome {
        status,
        input,
        output,
        next: Next::Continue,
        contact_id: None,
    }
}
