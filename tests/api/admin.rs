//! The admin API's guard, pagination, health, and the server's timeouts.

use crate::helpers::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const OPEN: &str = "name: Open hook\nsteps: []\n";

#[tokio::test]
async fn the_admin_token_guards_the_api_but_not_hooks_or_health() {
    let dir = workflows_dir(&[("open.yaml", OPEN)]);
    let opts = Options {
        workflows: dir.path().to_path_buf(),
        env: vec![("HOOKFLOW_ADMIN_TOKEN".into(), "admin-123".into())],
        ..Options::default()
    };
    // spawn_with reads the URLs through the API, so give the harness the token first.
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["urls", "--server", "http://127.0.0.1:9", "--data"])
        .arg(data.path())
        .arg("--workflows")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.starts_with("open\thttp://127.0.0.1:9/hooks/"),
        "{listed}"
    );
    drop(data);

    let app = spawn_guarded(opts).await;
    let (s, body) = app.get("/api/workflows").await;
    assert_eq!(s, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (s, _) = app
        .send(
            app.client
                .get(format!("{}/api/workflows", app.base))
                .bearer_auth("nope"),
        )
        .await;
    assert_eq!(s, 401);
    let (s, list) = app
        .send(
            app.client
                .get(format!("{}/api/workflows", app.base))
                .bearer_auth("admin-123"),
        )
        .await;
    assert_eq!(s, 200);
    let url = list["items"][0]["url"].as_str().unwrap();
    let (s, _) = app
        .send(
            app.client
                .post(url)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(s, 200, "hooks are public");
    let (s, _) = app.get("/healthz").await;
    assert_eq!(s, 200);
    let (s, body) = app.get("/api/nope").await;
    assert_eq!(s, 404, "unknown paths are 404, not 401: {body}");
}

async fn spawn_guarded(opts: Options) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hookflow"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .arg("--workflows")
        .arg(&opts.workflows)
        .envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    TestApp {
        child,
        base,
        data,
        opts,
        client: reqwest::Client::new(),
        urls: Default::default(),
        banner: vec![first],
    }
}

#[test]
fn serve_refuses_a_public_address_without_an_admin_token() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(data.path())
        .arg("--workflows")
        .arg(repo().join("workflows"))
        .env_remove("HOOKFLOW_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HOOKFLOW_ADMIN_TOKEN"), "{err}");
}

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_is_told_to_use_the_server() {
    let (app, dir) = spawn_workflows(&[("open.yaml", OPEN)]).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["urls", "--server", "http://127.0.0.1:9", "--data"])
        .arg(app.data.path())
        .arg("--workflows")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("data dir in use; pass --server"));
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let dir = workflows_dir(&[("open.yaml", OPEN)]);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        args: vec!["--header-timeout".into(), "1".into()],
        ..Options::default()
    })
    .await;
    let addr = app.base.strip_prefix("http://").unwrap().to_string();
    let started = Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"POST /hooks/x HTTP/1.1\r\nHost: a\r\nContent-Ty")
            .unwrap();
        let mut buf = [0u8; 512];
        // The server closes (0 bytes or an error answer), well before our own 10 s read timeout.
        matches!(s.read(&mut buf), Ok(_) | Err(_))
    })
    .await
    .unwrap();
    assert!(closed);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    // The server still serves others.
    assert_eq!(app.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn request_lists_page_newest_first_with_a_cursor() {
    let (app, _dir) = spawn_workflows(&[("open.yaml", OPEN)]).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let (_, a) = app
            .post_hook("open", "application/json", format!("{{\"n\": {n}}}"))
            .await;
        ids.push(a["request_id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let p1 = app.get_ok("/api/requests?limit=2").await;
    let p1_ids: Vec<_> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(p1_ids, ids[..2]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2 = app
        .get_ok(&format!("/api/requests?limit=2&cursor={cursor}"))
        .await;
    let p2_ids: Vec<_> = p2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(p2_ids, ids[2..4]);
    let p3 = app
        .get_ok(&format!(
            "/api/requests?limit=2&cursor={}",
            p2["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert!(p3["next_cursor"].is_null());
    assert_eq!(app.get("/api/requests?limit=0").await.0, 400);
    assert_eq!(app.get("/api/requests?status=bogus").await.0, 400);
    let counts = &app.workflow("open").await["counts"];
    assert_eq!(counts["accepted"], 5);
    assert_eq!(counts["requests"], 5);
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully_and_keeps_what_it_accepted() {
    let (mut app, _dir) = spawn_workflows(&[("open.yaml", OPEN)]).await;
    let (_, a) = app
        .post_hook("open", "application/json", "{\"n\": 1}")
        .await;
    app.stop();
    let status = app.child.try_wait().unwrap().expect("exited");
    assert!(status.success(), "exit status {status:?}");
    assert!(server_log(app.data.path()).contains("shutting down"));
    let app = app.restart().await;
    assert_eq!(
        app.request(a["request_id"].as_str().unwrap()).await["status"],
        "accepted"
    );
}

#[tokio::test]
async fn a_connection_made_just_before_a_stop_still_gets_its_request_answered() {
    let mut app = spawn_app().await;
    let addr = app.base.strip_prefix("http://").unwrap().to_string();
    let pid = app.child.id();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // Accepted, nothing sent yet: the stop comes now, the request a moment later.
        std::thread::sleep(Duration::from_millis(200));
        send_signal(pid, "TERM");
        std::thread::sleep(Duration::from_millis(200));
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
    .await
    .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the connection was dropped instead of answered: {answer:?}"
    );
    app.stop();
}
