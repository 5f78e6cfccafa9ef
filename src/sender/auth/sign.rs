//! The sender's side of [`AuthConfig`]: what `hookflow send` adds to a request so that
//! [`verify`](super::verify) accepts it.

use super::{hmac, AuthConfig, HmacAlgorithm, SignatureEncoding};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Headers and query parameters to add to a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signed {
    /// `(name, value)` headers to set.
    pub headers: Vec<(String, String)>,
    /// `(name, value)` query parameters to append (unencoded).
    pub query: Vec<(String, String)>,
}

/// Authenticates `body` as a sender configured with `auth` would, at `now_unix_secs`;
/// `message_id` becomes the Standard Webhooks `webhook-id`.
pub fn sign(auth: &AuthConfig, body: &[u8], now_unix_secs: i64, message_id: &str) -> Signed {
    let header = |name: &str, value: String| Signed {
        headers: vec![(name.to_string(), value)],
        query: Vec::new(),
    };
    match auth {
        AuthConfig::None => Signed::default(),
        AuthConfig::Basic { username, password } => {
            let credentials = STANDARD.encode(format!("{username}:{password}"));
            header("authorization", format!("Basic {credentials}"))
        }
        AuthConfig::Bearer { token } => header("authorization", format!("Bearer {token}")),
        AuthConfig::Header { name, value } => header(name, value.clone()),
        AuthConfig::Query { name, value } => Signed {
            headers: Vec::new(),
            query: vec![(name.clone(), value.clone())],
        },
        AuthConfig::Hmac {
            header: name,
            secret,
            algorithm,
            encoding,
            prefix,
        } => {
            let mac = hmac(*algorithm, secret, &[body]);
            let encoded = match encoding {
                SignatureEncoding::Hex => mac.iter().map(|b| format!("{b:02x}")).collect(),
                SignatureEncoding::Base64 => STANDARD.encode(mac),
            };
            header(name, format!("{prefix}{encoded}"))
        }
        AuthConfig::StandardWebhooks { secret, .. } => {
            let timestamp = now_unix_secs.to_string();
            let content = [
                message_id.as_bytes(),
                b".",
                timestamp.as_bytes(),
                b".",
                body,
            ];
            let mac = hmac(HmacAlgorithm::Sha256, secret, &content);
            Signed {
                headers: vec![
                    ("webhook-id".to_string(), message_id.to_string()),
                    ("webhook-timestamp".to_string(), timestamp),
                    (
                        "webhook-signature".to_string(),
                        format!("v1,{}", STANDARD.encode(mac)),
                    ),
                ],
                query: Vec::new(),
            }
        }
    }
}
