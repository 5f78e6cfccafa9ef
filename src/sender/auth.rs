//! Sender authentication forms of `trigger.inbound_webhook.auth`, resolved (secrets expanded),
//! and their verification against a raw request.
//!
//! [`verify`] gives a precise [`AuthFailure::reason`] for the request log while the HTTP layer
//! answers a bare 401, so a prober learns nothing and a tester learns everything. Every secret
//! comparison is constant-time. [`sign`] is the other side, for `hookflow send`.

mod mask;
mod sign;

pub use mask::{masked_headers, masked_headers_for, masked_headers_unknown_auth, masked_query};
pub use sign::{sign, Signed};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256, Sha512};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How a workflow's inbound URL authenticates its sender.
#[derive(Clone, PartialEq)]
pub enum AuthConfig {
    /// Anyone who knows the URL may post.
    None,
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
    /// `Authorization: Bearer token` (scheme case-insensitive).
    Bearer { token: String },
    /// A fixed header value, e.g. `X-Api-Key`.
    Header { name: String, value: String },
    /// A fixed query parameter value (KiviCare/HubSpot-style API key).
    Query { name: String, value: String },
    /// An HMAC of the raw body in a header, GitHub-style (`X-Hub-Signature-256: sha256=<hex>`).
    Hmac {
        header: String,
        secret: Vec<u8>,
        algorithm: HmacAlgorithm,
        encoding: SignatureEncoding,
        prefix: String,
    },
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); `secret` is
    /// the key bytes, i.e. already decoded with [`decode_webhook_secret`].
    StandardWebhooks {
        secret: Vec<u8>,
        tolerance: Duration,
    },
}

impl std::fmt::Debug for AuthConfig {
    // Secrets never reach logs or debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            AuthConfig::None => "none",
            AuthConfig::Basic { .. } => "basic",
            AuthConfig::Bearer { .. } => "bearer",
            AuthConfig::Header { .. } => "header",
            AuthConfig::Query { .. } => "query",
            AuthConfig::Hmac { .. } => "hmac",
            AuthConfig::StandardWebhooks { .. } => "standard_webhooks",
        };
        write!(f, "AuthConfig({kind})")
    }
}

impl AuthConfig {
    /// True for the forms that sign the body (`hmac`, `standard_webhooks`): only signed bytes
    /// may become the payload, so a GET or an empty body (whose payload would come from the
    /// unsigned query string) is refused.
    pub fn signs_body(&self) -> bool {
        matches!(
            self,
            AuthConfig::Hmac { .. } | AuthConfig::StandardWebhooks { .. }
        )
    }
}

/// The hash behind an `hmac` signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    /// HMAC-SHA1 (legacy senders, e.g. GitHub's `X-Hub-Signature`).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How an `hmac` signature is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    /// Hex digits, either case.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// A request that passed authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The Standard Webhooks `webhook-id`, the default dedupe key; `None` for other forms.
    pub webhook_id: Option<String>,
}

/// Why a request failed authentication; for the request log only, never for the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    /// What was wrong, e.g. "missing Authorization header" or "signature mismatch".
    pub reason: String,
}

fn fail<T>(reason: impl Into<String>) -> Result<T, AuthFailure> {
    Err(AuthFailure {
        reason: reason.into(),
    })
}

/// Checks a request against `auth`; `now_unix_secs` is wall-clock time for Standard Webhooks.
pub fn verify(
    auth: &AuthConfig,
    headers: &HeaderMap,
    query: &str,
    body: &[u8],
    now_unix_secs: i64,
) -> Result<Verified, AuthFailure> {
    let unsigned = Verified { webhook_id: None };
    if auth.signs_body() && body.is_empty() {
        // The signature of an empty body would otherwise authorise any query-string payload.
        return fail("empty body: a signed workflow takes its payload only from a signed body");
    }
    match auth {
        AuthConfig::None => Ok(unsigned),
        AuthConfig::Basic { username, password } => {
            let credentials = authorization(headers, "Basic")?;
            let Ok(decoded) = STANDARD.decode(credentials) else {
                return fail("Basic credentials are not valid base64");
            };
            let expected = format!("{username}:{password}");
            check(
                secure_eq(&decoded, expected.as_bytes()),
                "wrong username or password",
            )?;
            Ok(unsigned)
        }
        AuthConfig::Bearer { token } => {
            let presented = authorization(headers, "Bearer")?;
            check(
                secure_eq(presented.as_bytes(), token.as_bytes()),
                "bearer token mismatch",
            )?;
            Ok(unsigned)
        }
        AuthConfig::Header { name, value } => {
            let presented = header(headers, name)?;
            let matches = secure_eq(presented.as_bytes(), value.as_bytes());
            check(matches, format!("{name} header value mismatch"))?;
            Ok(unsigned)
        }
        AuthConfig::Query { name, value } => {
            let query = query.strip_prefix('?').unwrap_or(query);
            let presented = url::form_urlencoded::parse(query.as_bytes())
                .find(|(n, _)| n == name.as_str())
                .map(|(_, v)| v);
            let Some(presented) = presented else {
                return fail(format!("missing query parameter {name}"));
            };
            let matches = secure_eq(presented.as_bytes(), value.as_bytes());
            check(matches, format!("query parameter {name} mismatch"))?;
            Ok(unsigned)
        }
        AuthConfig::Hmac {
            header: name,
            secret,
            algorithm,
            encoding,
            prefix,
        } => {
            let presented = header(headers, name)?.trim();
            let Some(encoded) = presented.strip_prefix(prefix.as_str()) else {
                return fail(format!("{name} header does not start with {prefix:?}"));
            };
            let signature = match encoding {
                SignatureEncoding::Hex => decode_hex(encoded),
                SignatureEncoding::Base64 => STANDARD.decode(encoded).ok(),
            };
            let Some(signature) = signature else {
                let expected = match encoding {
                    SignatureEncoding::Hex => "hex",
                    SignatureEncoding::Base64 => "base64",
                };
                return fail(format!("{name} signature is not valid {expected}"));
            };
            let expected = hmac(*algorithm, secret, &[body]);
            check(same_mac(&signature, &expected)?, "signature mismatch")?;
            Ok(unsigned)
        }
        AuthConfig::StandardWebhooks { secret, tolerance } => {
            let id = header(headers, "webhook-id")?;
            verify_standard(secret, *tolerance, headers, id, body, now_unix_secs)?;
            Ok(Verified {
                webhook_id: Some(id.to_string()),
            })
        }
    }
}

/// The Standard Webhooks checks after `webhook-id` was found.
fn verify_standard(
    secret: &[u8],
    tolerance: Duration,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
    now: i64,
) -> Result<(), AuthFailure> {
    let timestamp = header(headers, "webhook-timestamp")?;
    let Ok(seconds) = timestamp.trim().parse::<i64>() else {
        return fail(format!(
            "webhook-timestamp {timestamp:?} is not Unix seconds"
        ));
    };
    let signatures = header(headers, "webhook-signature")?;
    let skew = now.saturating_sub(seconds);
    if skew.unsigned_abs() > tolerance.as_secs() {
        let direction = if skew > 0 { "old" } else { "in the future" };
        return fail(format!(
            "timestamp outside tolerance: {}s {direction}, tolerance {}s",
            skew.unsigned_abs(),
            tolerance.as_secs()
        ));
    }
    let content = [id.as_bytes(), b".", timestamp.trim().as_bytes(), b".", body];
    let expected = hmac(HmacAlgorithm::Sha256, secret, &content);
    let mut v1_seen = false;
    let mut well_formed = false;
    let mut matched = false;
    for entry in signatures.split_whitespace() {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue; // other versions (v1a = ed25519) are not ours to check
        };
        v1_seen = true;
        if let Some(signature) = STANDARD.decode(encoded).ok().filter(|s| s.len() == 32) {
            well_formed = true;
            matched |= bool::from(signature.ct_eq(&expected));
        }
    }
    if !v1_seen {
        return fail("webhook-signature holds no v1 signature");
    }
    check(
        well_formed,
        "webhook-signature has only empty or truncated v1 signatures",
    )?;
    check(matched, "signature mismatch")
}

/// The credentials after `scheme` in the Authorization header.
fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Result<&'h str, AuthFailure> {
    let value = header(headers, "Authorization")?.trim();
    let (presented, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !presented.eq_ignore_ascii_case(scheme) {
        return fail(format!(
            "Authorization header is not {scheme} (found {presented:?})"
        ));
    }
    let credentials = rest.trim();
    if credentials.is_empty() {
        return fail(format!(
            "empty {scheme} credentials in Authorization header"
        ));
    }
    Ok(credentials)
}

/// A header as text; absent and non-ASCII values are failures naming the header.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, AuthFailure> {
    let Some(value) = headers.get(name) else {
        return fail(format!("missing {name} header"));
    };
    value
        .to_str()
        .or_else(|_| fail(format!("{name} header is not visible ASCII")))
}

fn check(ok: bool, reason: impl Into<String>) -> Result<(), AuthFailure> {
    if ok {
        Ok(())
    } else {
        fail(reason)
    }
}

/// Constant-time equality that also hides the expected secret's length: both sides are hashed
/// to a fixed size first.
fn secure_eq(presented: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(presented)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

/// Compares MACs; a signature of the wrong length (e.g. truncated) is its own failure.
fn same_mac(signature: &[u8], expected: &[u8]) -> Result<bool, AuthFailure> {
    if signature.len() != expected.len() {
        return fail(format!(
            "signature is {} bytes, expected {} (empty or truncated?)",
            signature.len(),
            expected.len()
        ));
    }
    Ok(signature.ct_eq(expected).into())
}

/// HMAC of the concatenation of `parts`.
pub(crate) fn hmac(algorithm: HmacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        HmacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        HmacAlgorithm::Sha256 => run::<Hmac<Sha256>>(key, parts),
        HmacAlgorithm::Sha512 => run::<Hmac<Sha512>>(key, parts),
    }
}

/// Hex digits (either case) to bytes; `None` when not an even number of hex digits.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The key bytes of a Standard Webhooks secret (`whsec_` + base64; the prefix is optional).
pub fn decode_webhook_secret(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        Ok(_) => Err("the standard_webhooks secret is empty".to_string()),
        Err(_) => Err(
            "the standard_webhooks secret is not base64 after \"whsec_\"; copy it again from the sender"
                .to_string(),
        ),
    }
}
