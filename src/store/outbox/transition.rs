//! The mailer's state changes of an outbox record, and the state each starts from.

use super::{OutboxRecord, OutboxState};
use crate::domain::time::Millis;

/// A state change made by the mailer; [`super::OutboxTrees::mark`] checks it starts from the right state.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// `queued` → `sending`, counting one more attempt.
    Sending,
    /// `sending` → `sent`.
    Sent {
        /// The Message-ID the email went out with.
        message_id: String,
        /// When the server accepted it.
        sent_at: Millis,
        /// Outbox mode: where the `.eml` was written.
        eml_path: Option<String>,
    },
    /// `sending` → `queued` after a transient failure, to try again at `next_attempt_at`.
    Retry {
        /// The server's answer or the transport error.
        error: String,
        /// When to try again.
        next_attempt_at: Millis,
    },
    /// `sending` → `failed`.
    Failed {
        /// The server's answer or why the email cannot be built.
        error: String,
    },
    /// `sending` → `queued` at startup: a crash left delivery unconfirmed.
    Recover,
    /// `queued` → the outcome of one attempt (`Sent`, `Retry` or `Failed`) in one change,
    /// counting the attempt: for a transport whose send can be repeated with the same effect
    /// (outbox mode writes the same `{id}.eml` again), which needs no `sending` mark on disk
    /// before it sends.
    Attempted(Box<Transition>),
}

impl Transition {
    pub(super) fn allowed_from(&self) -> OutboxState {
        match self {
            Self::Sending | Self::Attempted(_) => OutboxState::Queued,
            _ => OutboxState::Sending,
        }
    }

    pub(super) fn apply(&self, r: &mut OutboxRecord) {
        match self.clone() {
            Self::Sending => {
                r.state = OutboxState::Sending;
                r.attempts += 1;
            }
            Self::Sent {
                message_id,
                sent_at,
                eml_path,
            } => {
                r.state = OutboxState::Sent;
                r.message_id = Some(message_id);
                r.sent_at = Some(sent_at);
                r.eml_path = eml_path;
                r.last_error = None;
            }
            Self::Retry {
                error,
                next_attempt_at,
            } => {
                r.state = OutboxState::Queued;
                r.last_error = Some(error);
                r.next_attempt_at = next_attempt_at;
            }
            Self::Failed { error } => {
                r.state = OutboxState::Failed;
                r.last_error = Some(error);
            }
            Self::Recover => r.state = OutboxState::Queued,
            Self::Attempted(outcome) => {
                Self::Sending.apply(r);
                outcome.apply(r);
            }
        }
    }
}
