//! Where messages go: the local outbox directory or an SMTP server.
//!
//! `--mail` is parsed once into a [`MailConfig`] (what the user typed, validated) and then
//! turned into a [`Transport`] (ready to send). A failed send is classified so the mailer knows
//! whether trying again can help: 5xx answers, certificate problems and a server that cannot
//! protect the password are permanent (see [`super::tls`]), everything else is transient.

use super::message::build;
use super::tls::{self, ExtraCa, TlsMode};
use super::MailError;
use crate::store::outbox::OutboxRecord;
use lettre::message::Message;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::error::Error as _;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The parsed `--mail` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailConfig {
    /// Nothing leaves the machine; each email becomes an `.eml` file.
    Outbox,
    /// Real delivery through an SMTP server.
    Smtp {
        /// The server and how to talk to it.
        url: SmtpUrl,
        /// `--mail-ca`: certificates trusted besides the bundled roots.
        ca: Option<ExtraCa>,
    },
}

/// An SMTP server from `smtp://` or `smtps://`; the password never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// `smtps://`: TLS from the first byte; `smtp://`: STARTTLS (see [`TlsMode::of`]).
    pub implicit_tls: bool,
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// The port (default 25 for `smtp://`, 465 for `smtps://`).
    pub port: u16,
    /// User name and password for AUTH, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.implicit_tls { "smtps" } else { "smtp" };
        let user = match &self.credentials {
            Some((user, _)) => format!("{user}:***@"),
            None => String::new(),
        };
        write!(f, "{scheme}://{user}{}:{}", self.host, self.port)
    }
}

impl MailConfig {
    /// Parses `outbox`, `smtp://[user[:pass]@]host[:port]` or `smtps://…`.
    pub fn parse(given: &str) -> Result<Self, MailError> {
        let given = given.trim();
        if given == "outbox" {
            return Ok(Self::Outbox);
        }
        let bad = |reason: &str| MailError::BadMailUrl {
            given: redact(given),
            reason: reason.to_string(),
        };
        let url = url::Url::parse(given).map_err(|e| bad(&e.to_string()))?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(bad(&format!("unknown scheme {other:?}"))),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        if !url.path().trim_matches('/').is_empty() || url.query().is_some() {
            return Err(bad("a path or query string is not supported"));
        }
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 25 });
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, pass) => Some((
                percent_decode(user).ok_or_else(|| bad("the user name is not valid UTF-8"))?,
                percent_decode(pass.unwrap_or(""))
                    .ok_or_else(|| bad("the password is not valid UTF-8"))?,
            )),
        };
        Ok(Self::Smtp {
            url: SmtpUrl {
                implicit_tls,
                host,
                port,
                credentials,
            },
            ca: None,
        })
    }

    /// Adds `--mail-ca`: the file is read and checked now, so a bad one stops start-up.
    pub fn with_ca(self, path: Option<&Path>) -> Result<Self, MailError> {
        match (self, path) {
            (config, None) => Ok(config),
            (Self::Smtp { url, .. }, Some(path)) => Ok(Self::Smtp {
                url,
                ca: Some(ExtraCa::load(path)?),
            }),
            (Self::Outbox, Some(path)) => Err(MailError::BadCa {
                path: path.to_path_buf(),
                reason: "--mail is outbox, so nothing is sent over TLS; remove --mail-ca or set \
                         --mail smtp://… or smtps://…"
                    .into(),
            }),
        }
    }

    /// Where mail goes and how, for the start-up line; never the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Outbox => {
                "mail: outbox, nothing leaves this machine (each email is an .eml file in the \
                 data dir's outbox/)"
                    .into()
            }
            Self::Smtp { url, ca } => {
                let scheme = if url.implicit_tls { "smtps" } else { "smtp" };
                let user = match &url.credentials {
                    Some((user, _)) if !user.is_empty() => format!("{user}@"),
                    _ => String::new(),
                };
                let ca = match ca {
                    Some(ca) => format!(", extra CA from {}", ca.path.display()),
                    None => String::new(),
                };
                format!(
                    "mail: {scheme}://{user}{}:{}, {}{ca}",
                    url.host,
                    url.port,
                    TlsMode::of(url).describe()
                )
            }
        }
    }
}

/// The value with the password between `:` and `@` replaced by `***`, for error messages.
fn redact(given: &str) -> String {
    let Some(scheme_end) = given.find("://") else {
        return given.to_string();
    };
    let rest = &given[scheme_end + 3..];
    let Some(at) = rest.rfind('@') else {
        return given.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &given[..scheme_end + 3],
            &rest[..colon],
            &rest[at..]
        ),
        None => given.to_string(),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A configured way to send messages.
#[derive(Clone)]
pub enum Transport {
    /// Writes `{dir}/{id}.eml` and counts that as sent.
    Outbox {
        /// The directory the `.eml` files go to (created when missing).
        dir: PathBuf,
    },
    /// Hands messages to an SMTP server (pooled connections).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// A message the transport took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Outbox mode: the file written.
    pub eml_path: Option<PathBuf>,
}

/// A failed send: the server's answer or the transport's error, and whether to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// A 5xx answer (or a message that can never be sent): do not retry.
    pub permanent: bool,
    /// The server's answer (`550 5.1.1 mailbox unavailable`) or what went wrong.
    pub message: String,
}

impl Transport {
    /// The transport for `config`; outbox files go to `outbox_dir`, SMTP commands time out
    /// after `timeout`.
    pub fn from_config(
        config: &MailConfig,
        outbox_dir: &Path,
        timeout: Duration,
    ) -> Result<Self, MailError> {
        let (url, ca) = match config {
            MailConfig::Outbox => {
                return Ok(Self::Outbox {
                    dir: outbox_dir.to_path_buf(),
                })
            }
            MailConfig::Smtp { url, ca } => (url, ca.as_ref()),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .timeout(Some(timeout))
            .tls(tls::lettre_tls(url, ca)?);
        if let Some((user, pass)) = &url.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Self::Smtp(builder.build()))
    }

    /// Whether sending a message again has the same effect as sending it once: in outbox mode
    /// it writes the same `{id}.eml` again (by a rename, never half), so delivery needs no
    /// `sending` mark on disk first; a mail server would get a second copy.
    pub fn repeats_safely(&self) -> bool {
        matches!(self, Self::Outbox { .. })
    }

    /// Sends each record's message; the results are in the order given, and a record whose
    /// message cannot be built fails for good. Outbox mode builds and writes them as `{id}.eml`
    /// files in one batch, on a thread of lower priority ([`super::eml_files::write_all`]);
    /// through SMTP they go at once, on lettre's pooled connections.
    pub async fn send_all(&self, records: Vec<OutboxRecord>) -> Vec<Result<Sent, SendError>> {
        match self {
            Self::Outbox { dir } => super::eml_files::write_all(dir, records)
                .await
                .into_iter()
                .map(|written| {
                    written.map(|path| Sent {
                        eml_path: Some(path),
                    })
                })
                .collect(),
            Self::Smtp(smtp) => {
                let sends = records.iter().map(|record| async move {
                    let message = built(record)?;
                    smtp.send_raw(message.envelope(), &message.formatted())
                        .await
                        .map(|_| Sent { eml_path: None })
                        .map_err(classify)
                });
                futures_util::future::join_all(sends).await
            }
        }
    }
}

/// The record's message; one that cannot be built will not build on a retry either.
pub(super) fn built(record: &OutboxRecord) -> Result<Message, SendError> {
    build(record).map_err(|e| SendError {
        permanent: true,
        message: e.to_string(),
    })
}

/// 5xx and what needs the admin ([`tls::explain`]) are permanent; 4xx, refused or reset
/// connections, timeouts and other TLS trouble may pass.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    if let Some(explained) = tls::explain(&e) {
        return explained;
    }
    match (e.status(), e.source()) {
        (Some(code), Some(answer)) => SendError {
            permanent: e.is_permanent(),
            message: format!("{code} {answer}"),
        },
        _ => SendError {
            permanent: false,
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(s: &str) -> SmtpUrl {
        match MailConfig::parse(s).unwrap() {
            MailConfig::Smtp { url, .. } => url,
            other => panic!("{s} parsed as {other:?}"),
        }
    }

    #[test]
    fn outbox_and_smtp_urls_parse_with_default_ports() {
        assert_eq!(MailConfig::parse("outbox").unwrap(), MailConfig::Outbox);
        let u = smtp("smtp://mail.example.com");
        assert_eq!((u.implicit_tls, u.port, u.credentials), (false, 25, None));
        let u = smtp("smtps://mail.example.com");
        assert_eq!((u.implicit_tls, u.port), (true, 465));
        assert_eq!(smtp("smtp://127.0.0.1:2525").port, 2525);
    }

    #[test]
    fn credentials_are_percent_decoded_and_never_shown() {
        let u = smtp("smtp://me%40clinic.example:p%3Ass%20w@mail.example.com:587");
        assert_eq!(
            u.credentials,
            Some(("me@clinic.example".into(), "p:ss w".into()))
        );
        let shown = format!("{u:?}");
        assert!(
            !shown.contains("p:ss") && !shown.contains("p%3Ass"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_make_tls_required_and_the_start_up_line_names_the_mode_but_no_password() {
        let described = |s: &str| MailConfig::parse(s).unwrap().describe();
        assert_eq!(
            described("smtp://clinic:pa%24%24@relay.example:587"),
            "mail: smtp://clinic@relay.example:587, STARTTLS required"
        );
        assert_eq!(
            described("smtps://clinic:pa%24%24@relay.example"),
            "mail: smtps://clinic@relay.example:465, TLS from the first byte"
        );
        assert_eq!(
            described("smtp://:only-a-password@relay.example:25"),
            "mail: smtp://relay.example:25, STARTTLS required"
        );
        assert_eq!(
            described("smtp://127.0.0.1:1025"),
            "mail: smtp://127.0.0.1:1025, STARTTLS when offered, plain otherwise"
        );
        assert!(described("outbox").starts_with("mail: outbox, nothing leaves"));
    }

    #[test]
    fn bad_urls_are_clear_errors_without_the_password() {
        for bad in [
            "http://u:secret@host",
            "smtp://u:secret@",
            "smtp://u:secret@host:99999",
            "smtp://u:secret@host/path",
            "sendmail",
        ] {
            let err = MailConfig::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--mail"), "{bad}: {err}");
            assert!(!err.contains("secret"), "{bad} leaked the password: {err}");
        }
    }
}
