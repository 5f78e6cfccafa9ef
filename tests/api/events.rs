//! `GET /api/events` read by a real HTTP client, and `hookflow tail` following it.

use crate::helpers::*;
use crate::tail::serve_on;
use serde_json::Value;
use std::time::{Duration, Instant};

/// An open `/api/events` stream.
struct Stream {
    resp: reqwest::Response,
    buffer: String,
}

/// One SSE block.
#[derive(Debug, Clone)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: Value,
    raw: String,
}

impl Stream {
    async fn open(app: &TestApp, query: &str, last_id: Option<u64>) -> Stream {
        let mut req = reqwest::Client::new().get(format!("{}/api/events{query}", app.base));
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        assert_eq!(resp.headers()["cache-control"], "no-cache");
        Stream {
            resp,
            buffer: String::new(),
        }
    }

    /// The next block with data (comments and `retry:` skipped), within `timeout`.
    async fn next(&mut self, timeout: Duration) -> Sse {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(sse) = parse(&block) {
                    return sse;
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.resp.chunk())
                .await
                .expect("no event within the deadline")
                .unwrap()
                .expect("stream ended");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event of `kind` (skipping others).
    async fn next_of(&mut self, kind: &str) -> Sse {
        loop {
            let e = self.next(Duration::from_secs(10)).await;
            if e.event == kind {
                return e;
            }
        }
    }
}

fn parse(block: &str) -> Option<Sse> {
    let mut sse = Sse {
        id: None,
        event: String::new(),
        data: Value::Null,
        raw: block.to_string(),
    };
    let mut data = None;
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => sse.id = value.parse().ok(),
            "event" => sse.event = value.to_string(),
            "data" => data = Some(value.to_string()),
            _ => {}
        }
    }
    sse.data = serde_json::from_str(&data?).unwrap();
    Some(sse)
}

#[tokio::test]
async fn a_request_event_arrives_within_a_second_of_a_post_and_holds_no_payload_value() {
    let app = spawn_app().await;
    let mut stream = Stream::open(&app, "", None).await;
    let posted = Instant::now();
    let answer = app
        .post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let e = stream.next(Duration::from_secs(1)).await;
    assert!(posted.elapsed() < Duration::from_secs(1));
    assert_eq!(e.event, "request");
    let d = &e.data;
    assert_eq!(d["type"], "request");
    assert_eq!(d["request_id"], answer["request_id"]);
    assert_eq!(d["workflow"], "optimantra-booking");
    assert_eq!(d["method"], "POST");
    assert_eq!(d["status"], "accepted");
    assert_eq!(d["http_status"], 200);
    assert_eq!(d["reason"], Value::Null);
    assert_eq!(d["items"][0]["run_id"], answer["items"][0]["run_id"]);
    assert!(d["at"].as_str().unwrap().ends_with('Z'));
    // Then the run: queued, and succeeded with its contact.
    let queued = stream.next_of("run").await;
    assert_eq!(queued.data["status"], "queued");
    let done = stream.next_of("run").await;
    assert_eq!(done.data["status"], "succeeded");
    assert_eq!(done.data["run_id"], answer["items"][0]["run_id"]);
    assert!(done.data["contact_id"].is_string());
    assert!(done.id > queued.id && queued.id > e.id);
    // What the sample holds never shows, nor the hook id.
    let sample: Value = serde_json::from_slice(&sample("optimantra/booking.json")).unwrap();
    let hook = app.url("optimantra-booking").rsplit('/').next().unwrap();
    let email = stream.next_of("email").await;
    assert_eq!(email.data["workflow"], "optimantra-booking");
    for e in [&e, &queued, &done, &email] {
        for field in ["email", "firstName", "lastName", "phone", "appointmentId"] {
            let value = sample[field].as_str().unwrap();
            assert!(!e.raw.contains(value), "{field} in {}", e.raw);
        }
        assert!(!e.raw.contains(hook));
        assert!(!e.raw.contains("See you on"), "subject in {}", e.raw);
    }
}

#[tokio::test]
async fn a_client_that_reconnects_with_last_event_id_gets_what_it_missed() {
    let app = spawn_app().await;
    let mut stream = Stream::open(&app, "?workflow=optimantra-booking", None).await;
    app.post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let first = stream.next_of("request").await;
    drop(stream);
    let mut missed = Vec::new();
    for _ in 0..2 {
        let a = app
            .post_sample("optimantra-booking", "optimantra/booking.json")
            .await;
        missed.push(a["request_id"].clone());
    }
    let mut again = Stream::open(&app, "?workflow=optimantra-booking", first.id).await;
    let mut got = Vec::new();
    let mut last = first.id.unwrap();
    while got.len() < 2 {
        let e = again.next(Duration::from_secs(10)).await;
        assert!(e.id.unwrap() > last, "ids only go up, none twice");
        last = e.id.unwrap();
        if e.event == "request" {
            got.push(e.data["request_id"].clone());
        }
    }
    assert_eq!(got, missed);
    // `?last_event_id=` does the same for clients that cannot set headers.
    let q = format!(
        "?workflow=optimantra-booking&last_event_id={}",
        first.id.unwrap()
    );
    let mut by_query = Stream::open(&app, &q, None).await;
    assert_eq!(
        by_query.next_of("request").await.data["request_id"],
        missed[0]
    );
}

#[tokio::test]
async fn workflow_narrows_the_stream_and_a_refused_request_says_why() {
    let (app, _dir) = spawn_workflows(&[
        ("open.yaml", "name: Open\nsteps:\n  - set_dnd: false\n"),
        (
            "locked.yaml",
            "name: Locked\ntrigger:\n  inbound_webhook:\n    auth: {type: bearer, token: s3cret}\nsteps:\n  - set_dnd: false\n",
        ),
    ])
    .await;
    let mut stream = Stream::open(&app, "?workflow=locked", None).await;
    app.post_json("open", &serde_json::json!({"a": 1})).await;
    let (status, _) = app
        .post_hook("locked", "application/json", r#"{"secret":"x"}"#)
        .await;
    assert_eq!(status, 401);
    let e = stream.next(Duration::from_secs(5)).await;
    assert_eq!(e.data["workflow"], "locked");
    assert_eq!(e.data["status"], "rejected");
    assert_eq!(e.data["http_status"], 401);
    assert_eq!(e.data["reason"], "unauthorized");
}

#[tokio::test]
async fn a_failed_run_event_names_the_step_and_leaves_out_payload_values() {
    let (app, _dir) = spawn_workflows(&[(
        "bad.yaml",
        "name: Bad\nsteps:\n  - find_contact: {email: \"{{ trigger.email }}\", create: true}\n  - update_contact: {email: \"{{ trigger.other }}\"}\n",
    )])
    .await;
    let mut stream = Stream::open(&app, "", None).await;
    let body = serde_json::json!({"email": "ok@example.com", "other": "zz-secret-zz"});
    let answer = app.post_json("bad", &body).await;
    let run = app.wait_run_done(&accepted_run_ids(&answer)[0]).await;
    assert_eq!(run["status"], "failed");
    assert!(run["steps"][1]["error"]
        .as_str()
        .unwrap()
        .contains("zz-secret-zz"));
    let failed = loop {
        let e = stream.next_of("run").await;
        if e.data["status"] == "failed" {
            break e;
        }
    };
    assert_eq!(failed.data["step"]["kind"], "update_contact");
    assert_eq!(failed.data["step"]["path"], serde_json::json!([1]));
    assert_eq!(failed.data["step"]["status"], "failed");
    let error = failed.data["step"]["error"].as_str().unwrap();
    assert!(error.contains("not valid"), "{error}");
    assert!(!failed.raw.contains("zz-secret-zz") && !failed.raw.contains("ok@example.com"));
}

#[tokio::test]
async fn the_event_stream_wants_the_admin_token_when_one_is_set() {
    let data = tempfile::tempdir().unwrap();
    let (server, base) = serve_on(0, data.path(), &[("HOOKFLOW_ADMIN_TOKEN", "tok")]);
    let url = format!("{base}/api/events");
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status(), 401);
    let mut resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("retry:2000"));
    drop(server);
}

#[tokio::test]
async fn a_wait_announces_its_timer_and_the_timer_firing() {
    let dir = workflows_dir(&[("waits.yaml", "name: Waits\nsteps:\n  - wait: 1d\n")]);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        args: vec!["--clock".into(), "manual".into()],
        ..Options::default()
    })
    .await;
    let mut stream = Stream::open(&app, "?workflow=waits", None).await;
    let answer = app.post_json("waits", &serde_json::json!({"a": 1})).await;
    let run_id = accepted_run_ids(&answer)[0].clone();
    let scheduled = stream.next_of("timer").await;
    assert_eq!(scheduled.data["state"], "scheduled");
    assert_eq!(scheduled.data["kind"], "run_wait");
    assert_eq!(scheduled.data["run_id"], run_id.as_str());
    let timers = app.get_ok("/api/timers").await;
    assert_eq!(scheduled.data["timer_id"], timers["items"][0]["id"]);
    let waiting = stream.next_of("run").await;
    assert_eq!(waiting.data["status"], "waiting");
    assert_eq!(waiting.data["step"]["kind"], "wait");

    let (status, _) = app
        .send(
            app.client
                .post(format!("{}/api/clock/advance", app.base))
                .json(&serde_json::json!({"by": "2d"})),
        )
        .await;
    assert_eq!(status, 200);
    let fired = stream.next_of("timer").await;
    assert_eq!(fired.data["state"], "fired");
    assert_eq!(fired.data["timer_id"], scheduled.data["timer_id"]);
    assert_eq!(fired.data["due_at"], scheduled.data["due_at"]);
    let done = stream.next_of("run").await;
    assert_eq!(done.data["status"], "succeeded");
    assert_eq!(done.data["run_id"], run_id.as_str());
}

#[tokio::test]
async fn a_workflow_file_that_breaks_and_is_fixed_is_announced() {
    let (app, dir) = spawn_workflows(&[("edited.yaml", "name: Edited\nsteps: []\n")]).await;
    let mut stream = Stream::open(&app, "?workflow=edited", None).await;
    std::fs::write(dir.path().join("edited.yaml"), "name: [unclosed\n").unwrap();
    let broke = stream.next_of("workflow").await;
    assert_eq!(broke.data["workflow"], "edited");
    assert_eq!(broke.data["kind"], "workflow");
    assert_eq!(broke.data["status"], "error");
    assert_eq!(broke.data["change"], "error");
    std::fs::write(
        dir.path().join("edited.yaml"),
        "name: Edited\nstatus: draft\nsteps: []\n",
    )
    .unwrap();
    let fixed = stream.next_of("workflow").await;
    assert_eq!(fixed.data["status"], "draft");
    assert_eq!(fixed.data["change"], "loaded");
}

#[tokio::test]
async fn an_open_event_stream_does_not_hold_up_a_shutdown() {
    let mut app = spawn_app().await;
    let _stream = Stream::open(&app, "", None).await;
    let started = Instant::now();
    app.stop();
    // The drain would wait 10 s for a stream that never ends.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_sequence_enrolment_announces_each_step_timer() {
    let app = spawn_with(Options {
        args: vec!["--clock".into(), "manual".into()],
        ..Options::default()
    })
    .await;
    let mut stream = Stream::open(&app, "", None).await;
    app.post_sample("optimantra-cancellation", "optimantra/cancellation.json")
        .await;
    let first = stream.next_of("timer").await;
    assert_eq!(first.data["kind"], "sequence_step");
    assert_eq!(first.data["state"], "scheduled");
    assert_eq!(first.data["sequence"], "warming");
    assert!(first.data["contact_id"].is_string());
    assert_eq!(first.data["run_id"], Value::Null);
    let fired = stream.next_of("timer").await;
    assert_eq!(fired.data["state"], "fired");
    assert_eq!(fired.data["timer_id"], first.data["timer_id"]);
    let next = stream.next_of("timer").await;
    assert_eq!(next.data["state"], "scheduled");
    assert_eq!(next.data["contact_id"], first.data["contact_id"]);
    assert!(next.data["due_at"].as_str() > first.data["due_at"].as_str());
}
