//! Signature checks (`hmac`, `standard_webhooks`) on forged headers and bodies. Input: the
//! first byte picks the algorithm and encoding, then `HEADER-VALUE\nBODY`. Whatever is sent,
//! `verify` answers without panicking, and it only accepts what `sign` produced.
#![no_main]

use hookflow::sender::auth::{sign, verify, AuthConfig, HmacAlgorithm, SignatureEncoding};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (value, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let algorithm = [HmacAlgorithm::Sha1, HmacAlgorithm::Sha256, HmacAlgorithm::Sha512]
        [usize::from(pick % 3)];
    let encoding = if pick & 4 == 0 { SignatureEncoding::Hex } else { SignatureEncoding::Base64 };
    let configs = [
        AuthConfig::Hmac {
            header: "x-sig".into(),
            secret: b"fuzz-secret".to_vec(),
            algorithm,
            encoding,
            prefix: if pick & 8 == 0 { "sha256=".into() } else { String::new() },
        },
        AuthConfig::StandardWebhooks {
            secret: b"fuzz-secret-key-bytes".to_vec(),
            tolerance: Duration::from_secs(300),
        },
    ];
    for auth in &configs {
        // Forged: the fuzzer's bytes in every header the check reads.
        let mut forged = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(value) {
            for name in ["x-sig", "webhook-signature", "webhook-id", "webhook-timestamp"] {
                forged.insert(HeaderName::from_static(name), v.clone());
            }
        }
        let _ = verify(auth, &forged, "", body, NOW);

        // Genuine: signed by the sender's side, it verifies; one changed body byte does not.
        let signed = sign(auth, body, NOW, "msg_fuzz");
        let mut headers = HeaderMap::new();
        for (name, v) in &signed.headers {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        if !body.is_empty() {
            assert!(verify(auth, &headers, "", body, NOW).is_ok(), "{auth:?} refused its own signature");
            let mut changed = body.to_vec();
            changed[0] ^= 1;
            assert!(verify(auth, &headers, "", &changed, NOW).is_err(), "{auth:?} took a changed body");
        }
    }
});
