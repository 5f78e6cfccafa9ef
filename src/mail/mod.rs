//! Email: building messages from outbox records, and delivering them with retries.
//!
//! The engine decides *what* to send and writes an [`OutboxRecord`] in the same transaction as
//! the step that sent it; this module only turns queued records into sent or failed ones:
//! [`message::render`] builds the RFC 5322 message (fixed `Message-ID`, unsubscribe headers and
//! link), [`transport::Transport`] writes it to the local outbox or hands it to an SMTP server
//! (over TLS as [`tls`] decides: required whenever a password is set), and
//! [`delivery::Mailer`] drives the states with backoff on hookflow's clock.
//!
//! [`OutboxRecord`]: crate::store::outbox::OutboxRecord

pub mod delivery;
pub mod eml_files;
pub mod message;
pub mod tls;
pub mod transport;

pub use delivery::{Mailer, RetryPolicy};
pub use message::{new_token, render, DEFAULT_FROM};
pub use transport::{MailConfig, SendError, Transport};

use crate::store::outbox::OutboxError;

/// Everything that can go wrong in the mail subsystem outside of one delivery attempt.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address (From, To, Cc or Bcc) is not a valid mailbox.
    #[error("email {id}: invalid {field} address {address:?} ({reason}); fix the contact's email or the step's address")]
    InvalidAddress {
        /// The outbox record's id.
        id: String,
        /// `from`, `to`, `cc` or `bcc`.
        field: &'static str,
        /// The address as given.
        address: String,
        /// Why lettre refused it.
        reason: String,
    },
    /// The unsubscribe URL cannot go in a header (not ASCII, or has spaces or angle brackets).
    #[error("email {id}: unsubscribe URL {url:?} is not a plain ASCII URL; check --public-url")]
    BadUnsubscribeUrl {
        /// The outbox record's id.
        id: String,
        /// The URL as given.
        url: String,
    },
    /// lettre refused to build the message.
    #[error("email {id}: cannot build the message: {reason}")]
    Build {
        /// The outbox record's id.
        id: String,
        /// lettre's reason.
        reason: String,
    },
    /// `--mail` is not `outbox`, `smtp://…` or `smtps://…`.
    #[error("--mail {given:?}: {reason}; expected outbox, smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]")]
    BadMailUrl {
        /// The value with any password replaced by `***`.
        given: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--mail-ca` cannot be used.
    #[error("--mail-ca {}: {reason}", path.display())]
    BadCa {
        /// The file as given.
        path: std::path::PathBuf,
        /// What is wrong with it and how to fix it.
        reason: String,
    },
    /// The outbox store failed.
    #[error(transparent)]
    Store(#[from] OutboxError),
}
