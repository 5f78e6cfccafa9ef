//! Headers and query strings for the request log, with secrets replaced by `****`: the log is
//! shown on the admin page and must not become a way to steal a sender's credentials.

use super::AuthConfig;
use http::HeaderMap;

const MASK: &str = "****";

/// Header names masked whole.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// A header whose name contains one of these is masked.
const SECRET_HEADER_WORDS: [&str; 8] = [
    "token",
    "secret",
    "signature",
    "api-key",
    "apikey",
    "auth",
    "password",
    "hmac",
];

/// A query parameter whose name contains one of these is masked.
const SECRET_QUERY_WORDS: [&str; 6] = ["token", "key", "secret", "signature", "password", "auth"];

/// Every header, in order, with secret values masked; `Authorization` keeps its scheme
/// (`Bearer ****`) so a tester can see which form the sender used.
pub fn masked_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    masked(headers, None)
}

/// [`masked_headers`], also masking the header that `auth` reads (a `header` or `hmac` form
/// may use any name, e.g. `X-Clinic-Key`).
pub fn masked_headers_for(headers: &HeaderMap, auth: &AuthConfig) -> Vec<(String, String)> {
    let extra = match auth {
        AuthConfig::Header { name, .. } => Some(name.to_ascii_lowercase()),
        AuthConfig::Hmac { header, .. } => Some(header.to_ascii_lowercase()),
        _ => None,
    };
    masked(headers, extra.as_deref())
}

/// Headers that never carry a credential, kept as sent when the auth form is unknown.
const HARMLESS_HEADERS: [&str; 14] = [
    "accept",
    "accept-encoding",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "host",
    "transfer-encoding",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "x-forwarded-for",
    "x-request-id",
    "expect",
];

/// Headers for a workflow whose auth is unknown (its file does not load): any header could be
/// its credential, so every value but those of [`HARMLESS_HEADERS`] is masked.
pub fn masked_headers_unknown_auth(headers: &HeaderMap) -> Vec<(String, String)> {
    masked(headers, None)
        .into_iter()
        .map(|(name, value)| {
            if HARMLESS_HEADERS.contains(&name.as_str()) || value.ends_with(MASK) {
                (name, value)
            } else {
                (name, MASK.to_string())
            }
        })
        .collect()
}

fn masked(headers: &HeaderMap, extra: Option<&str>) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str();
            let text = String::from_utf8_lossy(value.as_bytes());
            let value = if name.ends_with("authorization") {
                match text.trim().split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} {MASK}"),
                    None => MASK.to_string(),
                }
            } else if SECRET_HEADERS.contains(&name)
                || SECRET_HEADER_WORDS.iter().any(|w| name.contains(w))
                || extra == Some(name)
            {
                MASK.to_string()
            } else {
                text.into_owned()
            };
            (name.to_string(), value)
        })
        .collect()
}

/// The query string with the value of `auth`'s query parameter, and of any parameter named like
/// a credential, replaced by `****`; everything else is kept byte for byte.
pub fn masked_query(query: &str, auth: &AuthConfig) -> String {
    let auth_param = match auth {
        AuthConfig::Query { name, .. } => Some(name.as_str()),
        _ => None,
    };
    let (lead, query) = match query.strip_prefix('?') {
        Some(rest) => ("?", rest),
        None => ("", query),
    };
    let masked = query
        .split('&')
        .map(|pair| {
            let Some((raw_name, _)) = pair.split_once('=') else {
                return pair.to_string();
            };
            let name = url::form_urlencoded::parse(raw_name.as_bytes())
                .next()
                .map(|(n, _)| n.into_owned())
                .unwrap_or_default();
            let lower = name.to_ascii_lowercase();
            let secret = auth_param == Some(name.as_str())
                || SECRET_QUERY_WORDS.iter().any(|w| lower.contains(w));
            if secret {
                format!("{raw_name}={MASK}")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{lead}{masked}")
}
