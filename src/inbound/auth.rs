//! Sender authentication forms of `trigger.inbound_webhook.auth`, resolved (secrets expanded).

use std::time::Duration;

/// How a workflow's inbound URL authenticates its sender.
#[derive(Clone, PartialEq)]
pub enum AuthConfig {
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    Header {
        name: String,
        value: String,
    },
    Query {
        name: String,
        value: String,
    },
    Hmac {
        header: String,
        secret: Vec<u8>,
        algorithm: HmacAlgorithm,
        encoding: SignatureEncoding,
        prefix: String,
    },
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    Hex,
    Base64,
}
