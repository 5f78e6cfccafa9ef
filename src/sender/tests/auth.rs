use crate::sender::auth::{
    decode_webhook_secret, masked_headers, masked_headers_for, masked_query, sign, verify,
    AuthConfig, HmacAlgorithm, SignatureEncoding, Verified,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use std::time::Duration;

const NOW: i64 = 1_700_000_000;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// The reason `verify` gives for refusing the request.
fn refused(auth: &AuthConfig, h: &[(&str, &str)], query: &str, body: &str) -> String {
    verify(auth, &headers(h), query, body.as_bytes(), NOW)
        .expect_err("the request should be refused")
        .reason
}

fn passes(auth: &AuthConfig, h: &[(&str, &str)], query: &str, body: &str) -> Verified {
    verify(auth, &headers(h), query, body.as_bytes(), NOW).expect("the request should pass")
}

fn github(secret: &str) -> AuthConfig {
    AuthConfig::Hmac {
        header: "X-Hub-Signature-256".into(),
        secret: secret.as_bytes().to_vec(),
        algorithm: HmacAlgorithm::Sha256,
        encoding: SignatureEncoding::Hex,
        prefix: "sha256=".into(),
    }
}

/// The Standard Webhooks specification's published test vector.
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS: &str = "1614265330";
const SW_BODY: &str = r#"{"test": 2432232314}"#;
const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn standard() -> AuthConfig {
    AuthConfig::StandardWebhooks {
        secret: decode_webhook_secret(SW_SECRET).unwrap(),
        tolerance: Duration::from_secs(300),
    }
}

/// Verifies the test vector's id and body with `signature`, `at` seconds after its timestamp.
fn standard_check(signature: &str, body: &str, at: i64) -> Result<Verified, String> {
    let h = headers(&[
        ("webhook-id", SW_ID),
        ("webhook-timestamp", SW_TS),
        ("webhook-signature", signature),
    ]);
    let now = SW_TS.parse::<i64>().unwrap() + at;
    verify(&standard(), &h, "", body.as_bytes(), now).map_err(|f| f.reason)
}

#[test]
fn none_lets_everything_through() {
    assert_eq!(passes(&AuthConfig::None, &[], "", "{}").webhook_id, None);
}

#[test]
fn basic() {
    let auth = AuthConfig::Basic {
        username: "clinic".into(),
        password: "s3cret:x".into(),
    };
    // base64("clinic:s3cret:x"); the password may contain a colon.
    passes(
        &auth,
        &[("authorization", "Basic Y2xpbmljOnMzY3JldDp4")],
        "",
        "",
    );
    passes(
        &auth,
        &[("authorization", "basic  Y2xpbmljOnMzY3JldDp4")],
        "",
        "",
    );
    assert_eq!(refused(&auth, &[], "", ""), "missing Authorization header");
    assert_eq!(
        refused(
            &auth,
            &[("authorization", "Bearer Y2xpbmljOnMzY3JldDp4")],
            "",
            ""
        ),
        "Authorization header is not Basic (found \"Bearer\")"
    );
    // base64("clinic:wrong")
    assert_eq!(
        refused(
            &auth,
            &[("authorization", "Basic Y2xpbmljOndyb25n")],
            "",
            ""
        ),
        "wrong username or password"
    );
    assert_eq!(
        refused(&auth, &[("authorization", "Basic !!!")], "", ""),
        "Basic credentials are not valid base64"
    );
}

#[test]
fn bearer() {
    let auth = AuthConfig::Bearer {
        token: "opti-123".into(),
    };
    passes(&auth, &[("Authorization", "Bearer opti-123")], "", "");
    passes(&auth, &[("Authorization", "BEARER opti-123")], "", "");
    assert_eq!(
        refused(&auth, &[("authorization", "Bearer opti-124")], "", ""),
        "bearer token mismatch"
    );
    assert_eq!(
        refused(&auth, &[("authorization", "Bearer opti")], "", ""),
        "bearer token mismatch"
    );
    assert_eq!(
        refused(&auth, &[("authorization", "Bearer ")], "", ""),
        "empty Bearer credentials in Authorization header"
    );
    assert_eq!(
        refused(&auth, &[("authorization", "Token opti-123")], "", ""),
        "Authorization header is not Bearer (found \"Token\")"
    );
    assert_eq!(refused(&auth, &[], "", ""), "missing Authorization header");
}

#[test]
fn header() {
    let auth = AuthConfig::Header {
        name: "X-Api-Key".into(),
        value: "k1".into(),
    };
    passes(&auth, &[("x-api-key", "k1")], "", "");
    assert_eq!(
        refused(&auth, &[("x-api-key", "k2")], "", ""),
        "X-Api-Key header value mismatch"
    );
    assert_eq!(refused(&auth, &[], "", ""), "missing X-Api-Key header");
}

#[test]
fn query() {
    let auth = AuthConfig::Query {
        name: "hapikey".into(),
        value: "a b&c".into(),
    };
    passes(&auth, &[], "src=GHL&hapikey=a+b%26c", "");
    passes(&auth, &[], "?hapikey=a%20b%26c", "");
    assert_eq!(
        refused(&auth, &[], "hapikey=a+b", ""),
        "query parameter hapikey mismatch"
    );
    assert_eq!(
        refused(&auth, &[], "src=GHL", ""),
        "missing query parameter hapikey"
    );
}

#[test]
fn hmac_matches_githubs_documented_example() {
    let auth = github("It's a Secret to Everybody");
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    passes(&auth, &[("x-hub-signature-256", sig)], "", "Hello, World!");
    let upper = format!("sha256={}", sig[7..].to_uppercase());
    passes(
        &auth,
        &[("x-hub-signature-256", &upper)],
        "",
        "Hello, World!",
    );
    let h = [("x-hub-signature-256", sig)];
    assert_eq!(
        refused(&auth, &h, "", "Hello, World?"),
        "signature mismatch"
    );
    assert_eq!(
        refused(&github("another"), &h, "", "Hello, World!"),
        "signature mismatch"
    );
    assert_eq!(
        refused(&auth, &[], "", "x"),
        "missing X-Hub-Signature-256 header"
    );
    assert_eq!(
        refused(
            &auth,
            &[("x-hub-signature-256", &sig[7..])],
            "",
            "Hello, World!"
        ),
        "X-Hub-Signature-256 header does not start with \"sha256=\""
    );
    assert_eq!(
        refused(
            &auth,
            &[("x-hub-signature-256", "sha256=")],
            "",
            "Hello, World!"
        ),
        "signature is 0 bytes, expected 32 (empty or truncated?)"
    );
    assert_eq!(
        refused(
            &auth,
            &[("x-hub-signature-256", &sig[..39])],
            "",
            "Hello, World!"
        ),
        "signature is 16 bytes, expected 32 (empty or truncated?)"
    );
    assert_eq!(
        refused(
            &auth,
            &[("x-hub-signature-256", "sha256=zz")],
            "",
            "Hello, World!"
        ),
        "X-Hub-Signature-256 signature is not valid hex"
    );
}

#[test]
fn standard_webhooks_matches_the_published_test_vector() {
    let verified = standard_check(SW_SIG, SW_BODY, 0).unwrap();
    assert_eq!(verified.webhook_id.as_deref(), Some(SW_ID));
    let signed = sign(&standard(), SW_BODY.as_bytes(), 1614265330, SW_ID);
    assert!(signed
        .headers
        .contains(&("webhook-signature".into(), SW_SIG.into())));
}

#[test]
fn standard_webhooks_failures() {
    let old = standard_check(SW_SIG, SW_BODY, 301).unwrap_err();
    assert_eq!(old, "timestamp outside tolerance: 301s old, tolerance 300s");
    let future = standard_check(SW_SIG, SW_BODY, -301).unwrap_err();
    assert_eq!(
        future,
        "timestamp outside tolerance: 301s in the future, tolerance 300s"
    );
    assert!(standard_check(SW_SIG, SW_BODY, 300).is_ok());
    assert_eq!(
        standard_check(SW_SIG, "{\"test\": 1}", 0).unwrap_err(),
        "signature mismatch"
    );
    assert_eq!(
        standard_check("v1,", SW_BODY, 0).unwrap_err(),
        "webhook-signature has only empty or truncated v1 signatures"
    );
    assert_eq!(
        standard_check(&SW_SIG[..20], SW_BODY, 0).unwrap_err(),
        "webhook-signature has only empty or truncated v1 signatures"
    );
    assert_eq!(
        standard_check("v1a,abc v2,xyz", SW_BODY, 0).unwrap_err(),
        "webhook-signature holds no v1 signature"
    );
    let missing = verify(&standard(), &headers(&[]), "", b"{}", NOW).unwrap_err();
    assert_eq!(missing.reason, "missing webhook-id header");
    let h = headers(&[
        ("webhook-id", "m"),
        ("webhook-timestamp", "soon"),
        ("webhook-signature", SW_SIG),
    ]);
    let bad_ts = verify(&standard(), &h, "", b"{}", NOW).unwrap_err();
    assert_eq!(
        bad_ts.reason,
        "webhook-timestamp \"soon\" is not Unix seconds"
    );
}

#[test]
fn standard_webhooks_accepts_any_one_matching_signature() {
    let wrong = "v1,Kc8NHKmW7mXZ1G0MUw8eNJDNq2rN9C1X9HxfE6U2XwY=";
    let several = format!("v1a,ZWQyNTUxOQ== {wrong} v1, {SW_SIG}");
    assert!(standard_check(&several, SW_BODY, 0).is_ok());
    assert_eq!(
        standard_check(wrong, SW_BODY, 0).unwrap_err(),
        "signature mismatch"
    );
}

#[test]
fn webhook_secrets_decode_with_or_without_prefix() {
    assert_eq!(decode_webhook_secret(SW_SECRET).unwrap().len(), 24);
    assert_eq!(
        decode_webhook_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        decode_webhook_secret(SW_SECRET).unwrap()
    );
    assert!(decode_webhook_secret("whsec_").is_err());
    assert!(decode_webhook_secret("whsec_not base64!").is_err());
}

fn every_form(secret: &str) -> Vec<AuthConfig> {
    let hmac = |algorithm, encoding, prefix: &str| AuthConfig::Hmac {
        header: "X-Signature".into(),
        secret: secret.as_bytes().to_vec(),
        algorithm,
        encoding,
        prefix: prefix.into(),
    };
    vec![
        AuthConfig::None,
        AuthConfig::Basic {
            username: "u".into(),
            password: secret.into(),
        },
        AuthConfig::Bearer {
            token: secret.into(),
        },
        AuthConfig::Header {
            name: "X-Key".into(),
            value: secret.into(),
        },
        AuthConfig::Query {
            name: "key".into(),
            value: secret.into(),
        },
        hmac(HmacAlgorithm::Sha1, SignatureEncoding::Hex, "sha1="),
        hmac(HmacAlgorithm::Sha256, SignatureEncoding::Base64, ""),
        hmac(HmacAlgorithm::Sha512, SignatureEncoding::Hex, "v0="),
        AuthConfig::StandardWebhooks {
            secret: secret.as_bytes().to_vec(),
            tolerance: Duration::from_secs(60),
        },
    ]
}

/// Applies `sign`'s output to an empty request, as `hookflow send` does.
fn signed_request(auth: &AuthConfig, body: &[u8]) -> (HeaderMap, String) {
    let signed = sign(auth, body, NOW, "msg_1");
    let pairs: Vec<(&str, &str)> = signed
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&signed.query)
        .finish();
    (headers(&pairs), query)
}

proptest! {
    /// What `sign` adds passes `verify`, for every form; a changed body fails the signed forms,
    /// and so does an empty one: only signed bytes may become a payload.
    #[test]
    fn sign_then_verify_roundtrips(secret in "[!-~]{1,24}", body in prop::collection::vec(any::<u8>(), 0..64)) {
        for auth in every_form(&secret) {
            let (h, query) = signed_request(&auth, &body);
            let verified = verify(&auth, &h, &query, &body, NOW);
            if auth.signs_body() && body.is_empty() {
                prop_assert!(verified.is_err(), "{auth:?}: an empty body passed");
                continue;
            }
            prop_assert!(verified.is_ok(), "{auth:?}: {verified:?}");
            if matches!(auth, AuthConfig::Hmac { .. } | AuthConfig::StandardWebhooks { .. }) {
                let mut tampered = body.clone();
                tampered.push(b'!');
                prop_assert!(verify(&auth, &h, &query, &tampered, NOW).is_err());
            }
        }
    }
}

#[test]
fn headers_are_masked_for_the_log() {
    let h = headers(&[
        ("authorization", "Bearer opti-123"),
        ("content-type", "application/json"),
        ("cookie", "sid=1"),
        ("x-api-key", "k"),
        ("x-hub-signature-256", "sha256=abc"),
        ("x-auth-token", "t"),
        ("proxy-authorization", "Basic abc"),
        ("x-clinic-key", "ck"),
        ("webhook-id", "msg_1"),
    ]);
    let masked = masked_headers(&h);
    let value = |name: &str| masked.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(value("authorization"), "Bearer ****");
    assert_eq!(value("proxy-authorization"), "Basic ****");
    assert_eq!(value("content-type"), "application/json");
    assert_eq!(value("cookie"), "****");
    assert_eq!(value("x-api-key"), "****");
    assert_eq!(value("x-hub-signature-256"), "****");
    assert_eq!(value("x-auth-token"), "****");
    assert_eq!(value("webhook-id"), "msg_1");
    assert_eq!(value("x-clinic-key"), "ck");
    let auth = AuthConfig::Header {
        name: "X-Clinic-Key".into(),
        value: "ck".into(),
    };
    let for_auth = masked_headers_for(&h, &auth);
    assert!(for_auth.contains(&("x-clinic-key".into(), "****".into())));
    assert_eq!(masked.len(), 9);
}

#[test]
fn query_secrets_are_masked_and_the_rest_kept_verbatim() {
    let auth = AuthConfig::Query {
        name: "hapikey".into(),
        value: "v".into(),
    };
    assert_eq!(
        masked_query("src=GHL&hapikey=abc&name=a%20b&access_token=t&flag", &auth),
        "src=GHL&hapikey=****&name=a%20b&access_token=****&flag"
    );
    assert_eq!(
        masked_query("?api_key=1&x=2", &AuthConfig::None),
        "?api_key=****&x=2"
    );
    assert_eq!(masked_query("", &AuthConfig::None), "");
}
