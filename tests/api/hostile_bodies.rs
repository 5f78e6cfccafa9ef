//! Hostile bodies (issue 8): content codings, content types and form encodings, and a sweep of
//! arbitrary bodies that must never be acknowledged unless stored.

use crate::helpers::*;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::io::Write;

const OPEN_WF: &str = "name: Open\nsteps: []\n";
const SMALL_WF: &str =
    "name: Small\ntrigger:\n  inbound_webhook:\n    limits: {max_body: 1KiB}\nsteps: []\n";
const SIGNED_WF: &str = "name: Signed\ntrigger:\n  inbound_webhook:\n    auth: {type: hmac, header: X-Hub-Signature-256, secret: \"${SIG_SECRET}\", prefix: \"sha256=\"}\nsteps: []\n";

async fn app() -> (TestApp, tempfile::TempDir) {
    spawn_workflows_env(
        &[
            ("open.yaml", OPEN_WF),
            ("small.yaml", SMALL_WF),
            ("signed.yaml", SIGNED_WF),
        ],
        &[("SIG_SECRET", "shh")],
    )
    .await
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// POSTs `body` with a content type and optional content encoding to a workflow.
async fn post(
    app: &TestApp,
    workflow: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(workflow))
        .header("content-type", content_type)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    app.send(req).await
}

#[tokio::test]
async fn gzip_and_deflate_bodies_are_decoded_and_logged_decoded() {
    let (app, _dir) = app().await;
    let json = br#"{"email": "zipped@example.com"}"#;
    for (coding, bytes) in [("gzip", gzip(json)), ("deflate", zlib(json))] {
        let (s, a) = post(&app, "open", "application/json", Some(coding), bytes).await;
        assert_eq!(s, 200, "{coding}: {a}");
        let logged = app.request(a["request_id"].as_str().unwrap()).await;
        assert_eq!(logged["payload"], json!({"email": "zipped@example.com"}));
        assert_eq!(logged["body"], std::str::from_utf8(json).unwrap());
    }
    let (s, a) = post(&app, "open", "application/json", Some("br"), json.to_vec()).await;
    assert_eq!(
        (s, &a["error"]["code"]),
        (415, &"unsupported_media_type".into()),
        "{a}"
    );
    assert!(a["error"]["message"].as_str().unwrap().contains("br"));
    let (s, a) = post(
        &app,
        "open",
        "application/json",
        Some("gzip"),
        json.to_vec(),
    )
    .await;
    assert_eq!(
        s, 400,
        "a body that is not gzip is not 'invalid UTF-8': {a}"
    );
    assert!(a["error"]["message"].as_str().unwrap().contains("gzip"));
}

#[tokio::test]
async fn the_size_limit_applies_to_the_decoded_body_and_a_gzip_bomb_is_413() {
    let (app, _dir) = app().await;
    let inflates = format!("{{\"pad\": \"{}\"}}", " ".repeat(4096));
    let small = gzip(inflates.as_bytes());
    assert!(small.len() < 1024, "the encoded body is within the limit");
    let (s, a) = post(&app, "small", "application/json", Some("gzip"), small).await;
    assert_eq!(
        (s, &a["error"]["code"]),
        (413, &"payload_too_large".into()),
        "{a}"
    );
    // 64 MiB of zeros in about 64 KiB: answered without inflating it all.
    let bomb = gzip(&vec![b'0'; 64 << 20]);
    let started = std::time::Instant::now();
    let (s, _) = post(&app, "open", "application/json", Some("gzip"), bomb).await;
    assert_eq!(s, 413);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let (s, _) = app.get("/healthz").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_content_type_that_does_not_parse_or_is_not_utf8_is_415() {
    let (app, _dir) = app().await;
    let json = br#"{"email": "a@example.com"}"#.to_vec();
    for ct in [
        ";;;",
        "application/json; charset=iso-8859-1",
        "application/x-www-form-urlencoded; charset=latin1",
        "text/plain; charset=utf-16",
    ] {
        let (s, a) = post(&app, "open", ct, None, json.clone()).await;
        assert_eq!(s, 415, "{ct}: {a}");
    }
    let (s, _) = post(&app, "open", "application/json; charset=UTF-8", None, json).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_form_whose_bytes_or_decoded_fields_are_not_utf8_is_400() {
    let (app, _dir) = app().await;
    let form = "application/x-www-form-urlencoded";
    let (s, a) = post(&app, "open", form, None, b"a=%FF%FE".to_vec()).await;
    assert_eq!(
        (s, &a["error"]["code"]),
        (400, &"bad_request".into()),
        "{a}"
    );
    let (s, _) = post(&app, "open", form, None, b"%C3%28=b".to_vec()).await;
    assert_eq!(s, 400, "a name too");
    let (s, _) = post(&app, "open", form, None, b"a=\xff".to_vec()).await;
    assert_eq!(s, 400, "raw bytes too");
    let (s, a) = post(&app, "open", form, None, b"name=Jos%C3%A9+A&x=%2B".to_vec()).await;
    assert_eq!(s, 200, "{a}");
    let logged = app.request(a["request_id"].as_str().unwrap()).await;
    assert_eq!(logged["payload"], json!({"name": "José A", "x": "+"}));
}

#[tokio::test]
async fn a_signature_covers_the_body_as_sent_before_decoding() {
    let (app, _dir) = app().await;
    let compressed = gzip(br#"{"id": 7}"#);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"shh").unwrap();
    mac.update(&compressed);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let send = |sig: String| {
        app.client
            .post(app.url("signed"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("X-Hub-Signature-256", sig)
            .body(compressed.clone())
    };
    let (s, a) = app.send(send(format!("sha256={hex}"))).await;
    assert_eq!(s, 200, "{a}");
    let logged = app.request(a["request_id"].as_str().unwrap()).await;
    assert_eq!(logged["payload"], json!({"id": 7}));
    let (s, _) = app.send(send(format!("sha256={}", "0".repeat(64)))).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn the_hostile_samples_get_their_documented_answers_and_change_nothing() {
    let app = spawn_app().await;
    let wf = "optimantra-booking";
    let (s, a) = app
        .post_hook(
            wf,
            "application/x-www-form-urlencoded",
            sample("broken/latin1-form.form"),
        )
        .await;
    assert_eq!(s, 400, "{a}");
    let (s, a) = app
        .post_hook(wf, "application/json", sample("broken/too-many-items.json"))
        .await;
    assert_eq!(s, 413, "{a}");
    assert!(
        a["error"]["message"].as_str().unwrap().contains("1001"),
        "{a}"
    );
    let bomb = app
        .client
        .post(app.url(wf))
        .header("content-type", "application/json");
    let bomb = bomb
        .header("content-encoding", "gzip")
        .body(sample("broken/gzip-bomb.json.gz"));
    assert_eq!(app.send(bomb).await.0, 413);
    assert!(app.contacts("").await.is_empty(), "no contact was made");
    assert!(app.runs("").await.is_empty(), "no run started");
}

/// A small deterministic generator (xorshift): the same cases on every run.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
    fn bytes(&mut self) -> Vec<u8> {
        let seeds: [&[u8]; 6] = [
            b"{\"a\": 1}",
            b"[{}, {}]",
            b"a=b&c=%41",
            b"",
            b"\xff\xfe{",
            b"[1]",
        ];
        let mut out = seeds[(self.next() % 6) as usize].to_vec();
        for _ in 0..self.next() % 12 {
            out.push(self.next() as u8);
        }
        if self.next().is_multiple_of(3) {
            out.truncate((self.next() % 8) as usize);
        }
        out
    }
}

#[tokio::test]
async fn arbitrary_bodies_are_answered_4xx_or_acknowledged_only_once_stored() {
    let (app, _dir) = app().await;
    let types = [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "text/html",
        ";;;",
        "application/json; charset=latin1",
        "",
    ];
    let codings = ["", "gzip", "deflate", "br", "gzip, identity"];
    let mut cases = Cases(0x9e37_79b9_7f4a_7c15);
    for _ in 0..60 {
        let (ct, coding, raw) = (cases.pick(&types), cases.pick(&codings), cases.bytes());
        let body = match (coding, cases.next() % 2) {
            ("gzip", 0) | ("gzip, identity", 0) => gzip(&raw),
            ("deflate", 0) => zlib(&raw),
            _ => raw.clone(),
        };
        let mut req = app.client.post(app.url("open")).body(body);
        if !ct.is_empty() {
            req = req.header("content-type", ct);
        }
        if !coding.is_empty() {
            req = req.header("content-encoding", coding);
        }
        let (s, a) = app.send(req).await;
        let case = format!("{ct:?} {coding:?} {raw:?} → {s} {a}");
        match s {
            200 => {
                let refused =
                    [";;;", "application/json; charset=latin1"].contains(&ct) || coding == "br";
                assert!(
                    !refused,
                    "a type or coding that must be refused was taken: {case}"
                );
                let logged = app.request(a["request_id"].as_str().unwrap()).await;
                assert_ne!(logged["status"], "rejected", "{case}");
                assert!(
                    logged["payload"].is_object() || logged["payload"].is_array(),
                    "{case}"
                );
            }
            400 | 413 | 415 => assert!(a["error"]["code"].is_string(), "{case}"),
            _ => panic!("unexpected answer: {case}"),
        }
    }
}
