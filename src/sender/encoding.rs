//! `Content-Encoding` of an inbound body: `gzip` and `deflate` (zlib, RFC 1950) are decoded,
//! anything else is refused before the body is read.
//!
//! The size limit applies to the decoded bytes, and decoding streams into a buffer that stops
//! one byte past the limit: a 1 KiB gzip bomb that inflates to gigabytes costs at most the limit
//! in memory and the time to inflate that much, never more.

use flate2::read::{MultiGzDecoder, ZlibDecoder};
use std::borrow::Cow;
use std::io::Read;

/// One content coding hookflow decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (RFC 1952; `x-gzip` too).
    Gzip,
    /// `deflate`: the zlib format (RFC 1950), as HTTP defines it.
    Deflate,
}

/// Why an encoded body cannot be used; `Display` is the message for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// 415: a coding hookflow does not decode.
    #[error("unsupported Content-Encoding {0:?}; send the body unencoded, gzip or deflate")]
    Unsupported(String),
    /// 413: the decoded body passes the limit.
    #[error("decoded body larger than this workflow's limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// 400: the bytes are not valid data of their coding.
    #[error("body is not valid {coding} data ({reason}); check the Content-Encoding header")]
    Corrupt {
        /// `gzip` or `deflate`.
        coding: &'static str,
        /// What the decoder reported.
        reason: String,
    },
}

/// The codings of a `Content-Encoding` value in the order they were applied (`identity` and
/// empty entries dropped); an unknown coding is an error naming it.
pub fn codings(header: Option<&str>) -> Result<Vec<Coding>, DecodeError> {
    let Some(header) = header else {
        return Ok(Vec::new());
    };
    header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .map(|c| match c.as_str() {
            "gzip" | "x-gzip" => Ok(Coding::Gzip),
            "deflate" => Ok(Coding::Deflate),
            _ => Err(DecodeError::Unsupported(c)),
        })
        .collect()
}

/// Undoes `codings` (last applied first), keeping every stage within `limit` bytes.
pub fn decode<'a>(
    codings: &[Coding],
    body: &'a [u8],
    limit: u64,
) -> Result<Cow<'a, [u8]>, DecodeError> {
    let mut out = Cow::Borrowed(body);
    for coding in codings.iter().rev() {
        out = Cow::Owned(decode_one(*coding, &out, limit)?);
    }
    Ok(out)
}

fn decode_one(coding: Coding, body: &[u8], limit: u64) -> Result<Vec<u8>, DecodeError> {
    let (name, reader): (&'static str, Box<dyn Read + '_>) = match coding {
        Coding::Gzip => ("gzip", Box::new(MultiGzDecoder::new(body))),
        Coding::Deflate => ("deflate", Box::new(ZlibDecoder::new(body))),
    };
    let mut out = Vec::new();
    // One byte past the limit tells "exactly the limit" from "more"; the decoder stops there.
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Corrupt {
            coding: name,
            reason: e.to_string(),
        })?;
    if out.len() as u64 > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}
