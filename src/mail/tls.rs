//! TLS for SMTP: how each `--mail` URL protects the connection, the extra CA of `--mail-ca`, and
//! TLS and login failures in words a clinic's admin understands.
//!
//! Why it exists: a password must never cross the network in clear. So credentials make TLS
//! required (STARTTLS for `smtp://`, TLS from the first byte for `smtps://`), and a server that
//! cannot do it is a delivery error before AUTH is ever sent. Without credentials `smtp://` stays
//! opportunistic, so a local catcher such as Mailpit works as it is. A company relay often shows
//! a certificate from a private CA, which `--mail-ca` adds to the bundled roots.

use super::transport::{SendError, SmtpUrl};
use super::MailError;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::CertificateError;
use std::error::Error as StdError;
use std::path::{Path, PathBuf};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` with credentials: STARTTLS or no delivery (the password is never sent in clear).
    StartTlsRequired,
    /// `smtp://` without credentials: STARTTLS when the server offers it, plain otherwise.
    StartTlsWhenOffered,
}

impl TlsMode {
    /// The mode a URL gets: credentials make TLS required.
    pub fn of(url: &SmtpUrl) -> Self {
        match (url.implicit_tls, &url.credentials) {
            (true, _) => Self::Implicit,
            (false, Some(_)) => Self::StartTlsRequired,
            (false, None) => Self::StartTlsWhenOffered,
        }
    }

    /// The words of the start-up line.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Implicit => "TLS from the first byte",
            Self::StartTlsRequired => "STARTTLS required",
            Self::StartTlsWhenOffered => "STARTTLS when offered, plain otherwise",
        }
    }
}

/// PEM certificates from `--mail-ca`, trusted in addition to the bundled roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraCa {
    /// The file as given.
    pub path: PathBuf,
    /// The certificates, DER.
    certs: Vec<Vec<u8>>,
}

impl ExtraCa {
    /// Reads and checks the file: at least one certificate, each one usable as a root.
    pub fn load(path: &Path) -> Result<Self, MailError> {
        let bad = |reason: String| MailError::BadCa {
            path: path.to_path_buf(),
            reason: format!(
                "{reason}; give a PEM file with one or more -----BEGIN CERTIFICATE----- blocks \
                 (the relay's CA certificate)"
            ),
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not valid PEM ({e})")))?;
        if certs.is_empty() {
            return Err(bad("it holds no PEM certificate".into()));
        }
        let ca = Self {
            path: path.to_path_buf(),
            certs,
        };
        // Building the parameters once parses every certificate, so a bad one stops start-up.
        ca.parameters("localhost")
            .map_err(|e| bad(format!("a certificate in it is not usable ({e})")))?;
        Ok(ca)
    }

    /// How many certificates the file holds.
    pub fn count(&self) -> usize {
        self.certs.len()
    }

    fn parameters(&self, host: &str) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        let mut builder = TlsParameters::builder(host.to_string());
        for der in &self.certs {
            builder = builder.add_root_certificate(Certificate::from_der(der.clone())?);
        }
        builder.build_rustls()
    }
}

/// lettre's TLS setting for `url`, trusting `ca` besides the bundled roots.
pub fn lettre_tls(url: &SmtpUrl, ca: Option<&ExtraCa>) -> Result<Tls, MailError> {
    let params = match ca {
        Some(ca) => ca.parameters(&url.host),
        None => TlsParameters::new(url.host.clone()),
    }
    .map_err(|e| MailError::BadMailUrl {
        given: format!("{url:?}"),
        reason: format!("cannot set up TLS: {e}"),
    })?;
    Ok(match TlsMode::of(url) {
        TlsMode::Implicit => Tls::Wrapper(params),
        TlsMode::StartTlsRequired => Tls::Required(params),
        TlsMode::StartTlsWhenOffered => Tls::Opportunistic(params),
    })
}

/// A failure that needs the admin (a certificate, a missing STARTTLS, a refused login) as a
/// permanent [`SendError`] that says what to do; `None` for everything else.
pub fn explain(e: &lettre::transport::smtp::Error) -> Option<SendError> {
    let permanent = |message: String| {
        Some(SendError {
            permanent: true,
            message,
        })
    };
    if let Some(cert) = certificate_error(e) {
        // The variant's name only (`UnknownIssuer`), for a search; the words say the rest.
        let detail = format!("{cert:?}");
        let detail = detail.split([' ', '{', '(']).next().unwrap_or_default();
        let detail = detail.trim_end_matches("Context");
        return permanent(format!(
            "{}; the email was not sent (TLS error: {detail})",
            certificate_words(cert)
        ));
    }
    let text = e.to_string();
    if e.is_client() && text.contains("STARTTLS is not supported") {
        return permanent(
            "the mail server does not offer STARTTLS, so hookflow did not log in: the password \
             in --mail is never sent unencrypted; the email was not sent. Use smtps:// if the \
             server speaks TLS on connect, or a server that offers STARTTLS"
                .into(),
        );
    }
    if e.is_client() && text.contains("No compatible authentication mechanism") {
        return permanent(
            "the mail server offers no login method hookflow knows (PLAIN or LOGIN); \
             the email was not sent"
                .into(),
        );
    }
    if e.status().is_some_and(|c| c.to_string() == "535") {
        let answer = e.source().map(|s| s.to_string()).unwrap_or_default();
        return permanent(format!(
            "the mail server refused the login: 535 {answer}; check the user and password in \
             --mail; the email was not sent"
        ));
    }
    None
}

/// The rustls certificate verdict somewhere in the error's chain (an `io::Error` hides it).
fn certificate_error(e: &lettre::transport::smtp::Error) -> Option<&CertificateError> {
    let mut next: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(err) = next {
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|b| b as &(dyn StdError + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(c)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(c);
            }
        }
        next = err.source();
    }
    None
}

fn certificate_words(c: &CertificateError) -> String {
    use CertificateError as C;
    let what = "the mail server's TLS certificate";
    match c {
        C::UnknownIssuer => format!(
            "{what} is not trusted: it was issued by an unknown certificate authority. If the \
             relay uses a company CA, give that CA's certificate with --mail-ca FILE"
        ),
        C::NotValidForName => format!(
            "{what} is for another name than the host in --mail; use the name on the certificate"
        ),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "{what} is for another name: hookflow connected to {} but the certificate is for \
             {}; use a host name the certificate names in --mail",
            expected.to_str(),
            presented
                .iter()
                .map(|p| unquote(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        C::Expired => format!("{what} has expired; the server's admin must renew it"),
        C::ExpiredContext { not_after, .. } => format!(
            "{what} has expired (on {}); the server's admin must renew it",
            crate::domain::time::rfc3339(not_after.as_secs() as i64 * 1000)
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            format!("{what} is not valid yet; check this machine's clock and the certificate")
        }
        C::Revoked => format!("{what} has been revoked"),
        other => format!("{what} was rejected ({other:?})"),
    }
}

/// `DnsName("relay.example")` → `relay.example`: rustls shows a certificate's names as Debug.
fn unquote(presented: &str) -> &str {
    match (presented.find('"'), presented.rfind('"')) {
        (Some(start), Some(end)) if end > start => &presented[start + 1..end],
        _ => presented,
    }
}
