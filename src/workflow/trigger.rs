//! Resolves `trigger.inbound_webhook`: auth (secrets expanded and decoded), split, filter, dedupe,
//! and limits with their defaults.

use super::def::{AuthDef, InboundDef, LimitsDef};
use super::model::{Arg, Limits, Rate, Trigger};
use super::paths::compile;
use super::resolve::{pos, Ctx, Resolved};
use crate::domain::duration::parse_duration;
use crate::domain::size::parse_size;
use crate::sender::auth::{AuthConfig, HmacAlgorithm, SignatureEncoding};
use base64::Engine;
use serde_saphyr::{Location, Spanned};
use std::time::Duration;

/// Default `dedupe_window`.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Default `limits.max_body`: 1 MiB.
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// Default `limits.max_items`: one request cannot become unbounded work.
pub const DEFAULT_MAX_ITEMS: usize = 1000;
/// Default Standard Webhooks timestamp tolerance.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Resolves the trigger; `ctx.scope` must be the before-contact scope.
pub fn resolve_trigger(ctx: &Ctx, def: &Spanned<InboundDef>) -> Resolved<Trigger> {
    let d = &def.value;
    let auth = match &d.auth {
        Some(a) => resolve_auth(ctx, &a.value, &a.referenced)?,
        None => AuthConfig::None,
    };
    let split = match &d.split {
        Some(s) => {
            compile(&s.value).map_err(|m| ctx.err(&s.referenced, m))?;
            Some(s.value.clone())
        }
        None => None,
    };
    let filter = match &d.filter {
        Some(f) => Some(ctx.condition(f)?),
        None => None,
    };
    let dedupe = match &d.dedupe {
        Some(s) if s.value.starts_with('$') => {
            compile(&s.value).map_err(|m| ctx.err(&s.referenced, m))?;
            Some(Arg::Template {
                source: s.value.clone(),
                pos: pos(&s.referenced),
            })
        }
        Some(s) => Some(ctx.arg_at(&s.value.clone().into(), pos(&s.referenced))?),
        None => None,
    };
    let dedupe_window = match &d.dedupe_window {
        Some(w) => duration(ctx, w, "dedupe_window")?,
        None => DEFAULT_DEDUPE_WINDOW,
    };
    let limits = match &d.limits {
        Some(l) => resolve_limits(ctx, l)?,
        None => Limits {
            max_body: DEFAULT_MAX_BODY,
            max_items: DEFAULT_MAX_ITEMS,
            rate: None,
        },
    };
    Ok(Trigger {
        auth,
        split,
        filter,
        dedupe,
        dedupe_window,
        limits,
    })
}

fn duration(ctx: &Ctx, s: &Spanned<String>, key: &str) -> Resolved<Duration> {
    parse_duration(&s.value).map_err(|m| ctx.err(&s.referenced, format!("{key}: {m}")))
}

fn resolve_limits(ctx: &Ctx, l: &LimitsDef) -> Resolved<Limits> {
    let max_body = match &l.max_body {
        Some(s) => parse_size(&s.value)
            .map_err(|m| ctx.err(&s.referenced, format!("limits.max_body: {m}")))?,
        None => DEFAULT_MAX_BODY,
    };
    let max_items = match &l.max_items {
        Some(n) if n.value == 0 => {
            return Err(ctx.err(&n.referenced, "limits.max_items must be at least 1"));
        }
        Some(n) => n.value as usize,
        None => DEFAULT_MAX_ITEMS,
    };
    let rate = match &l.rate {
        Some(r) => {
            let per_second = parse_rate(&r.value)
                .map_err(|m| ctx.err(&r.referenced, format!("limits.rate: {m}")))?;
            let burst = match &l.burst {
                Some(b) if b.value == 0 => {
                    return Err(ctx.err(&b.referenced, "limits.burst must be at least 1"));
                }
                Some(b) => b.value,
                None => (per_second.ceil() as u32).max(1),
            };
            Some(Rate { per_second, burst })
        }
        None => {
            if let Some(b) = &l.burst {
                return Err(ctx.err(
                    &b.referenced,
                    "limits.burst needs limits.rate (e.g. `rate: 10/s`)",
                ));
            }
            None
        }
    };
    Ok(Limits {
        max_body,
        max_items,
        rate,
    })
}

/// `10/s`, `600/m`, `100/h` → requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let bad =
        || format!("invalid rate `{text}`: write requests per unit, e.g. `10/s`, `600/m`, `100/h`");
    let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(format!(
            "invalid rate `{text}`: the rate must be at least 1"
        ));
    }
    Ok(f64::from(n) / secs)
}

/// Expands a secret and refuses an empty one (an empty token would accept anyone).
fn secret(ctx: &Ctx, text: &str, l: &Location, what: &str) -> Resolved<String> {
    let value = ctx.expand_env(text, l, what)?;
    if value.is_empty() {
        return Err(ctx.err(
            l,
            format!("{what} is empty; an empty secret would accept anyone"),
        ));
    }
    Ok(value)
}

fn resolve_auth(ctx: &Ctx, def: &AuthDef, l: &Location) -> Resolved<AuthConfig> {
    let plain = |s: &str, what: &str| ctx.expand_env(s, l, what);
    Ok(match def {
        AuthDef::None => AuthConfig::None,
        AuthDef::Basic { username, password } => AuthConfig::Basic {
            username: plain(username, "auth.username")?,
            password: secret(ctx, password, l, "auth.password")?,
        },
        AuthDef::Bearer { token } => AuthConfig::Bearer {
            token: secret(ctx, token, l, "auth.token")?,
        },
        AuthDef::Header { name, value } => AuthConfig::Header {
            name: plain(name, "auth.name")?,
            value: secret(ctx, value, l, "auth.value")?,
        },
        AuthDef::Query { name, value } => AuthConfig::Query {
            name: plain(name, "auth.name")?,
            value: secret(ctx, value, l, "auth.value")?,
        },
        AuthDef::Hmac {
            header,
            secret: s,
            algorithm,
            encoding,
            prefix,
        } => AuthConfig::Hmac {
            header: plain(header, "auth.header")?,
            secret: secret(ctx, s, l, "auth.secret")?.into_bytes(),
            algorithm: match algorithm.as_deref().unwrap_or("sha256") {
                "sha256" => HmacAlgorithm::Sha256,
                "sha512" => HmacAlgorithm::Sha512,
                "sha1" => HmacAlgorithm::Sha1,
                other => {
                    return Err(ctx.err(
                        l,
                        format!("unknown auth.algorithm `{other}`; use sha256, sha512 or sha1"),
                    ));
                }
            },
            encoding: match encoding.as_deref().unwrap_or("hex") {
                "hex" => SignatureEncoding::Hex,
                "base64" => SignatureEncoding::Base64,
                other => {
                    return Err(ctx.err(
                        l,
                        format!("unknown auth.encoding `{other}`; use hex or base64"),
                    ));
                }
            },
            prefix: prefix.clone().unwrap_or_default(),
        },
        AuthDef::StandardWebhooks {
            secret: s,
            tolerance,
        } => {
            let text = secret(ctx, s, l, "auth.secret")?;
            let b64 = text.strip_prefix("whsec_").unwrap_or(&text);
            let key = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| {
                ctx.err(l, format!("auth.secret is not `whsec_` followed by base64 ({e}); copy it as the sender shows it"))
            })?;
            if key.is_empty() {
                return Err(ctx.err(l, "auth.secret decodes to no bytes"));
            }
            let tolerance = match tolerance {
                Some(t) => {
                    parse_duration(t).map_err(|m| ctx.err(l, format!("auth.tolerance: {m}")))?
                }
                None => DEFAULT_TOLERANCE,
            };
            AuthConfig::StandardWebhooks {
                secret: key,
                tolerance,
            }
        }
    })
}
