//! `TestApp`: starts the real binary (`hookflow serve --listen 127.0.0.1:0`) on a temp data dir
//! and offers one typed method per endpoint. Polling helpers take deadlines, never fixed sleeps.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod cli;
mod raw;
mod workflows;
pub use cli::*;
pub use raw::*;
pub use workflows::*;

/// The repository root (where `workflows/` and `samples/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A sample payload's bytes.
pub fn sample(path: &str) -> Vec<u8> {
    std::fs::read(repo().join("samples").join(path))
        .unwrap_or_else(|e| panic!("sample {path}: {e}"))
}

/// How to start the server.
#[derive(Clone)]
pub struct Options {
    pub workflows: PathBuf,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workflows: repo().join("workflows"),
            env: Vec::new(),
            args: Vec::new(),
        }
    }
}

/// A running server and its data dir.
pub struct TestApp {
    pub child: Child,
    pub base: String,
    pub data: tempfile::TempDir,
    pub opts: Options,
    pub client: reqwest::Client,
    /// Workflow id → inbound URL.
    pub urls: HashMap<String, String>,
    /// The lines the server printed at start (stdout).
    pub banner: Vec<String>,
}

/// Starts the shipped workflows on a fresh data dir.
pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

/// Starts a server with the given options on a fresh data dir.
pub async fn spawn_with(opts: Options) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    start(opts, data).await
}

/// Starts a server with the given options on an existing data dir (a restored one).
pub async fn spawn_on(opts: Options, data: tempfile::TempDir) -> TestApp {
    start(opts, data).await
}

async fn start(opts: Options, data: tempfile::TempDir) -> TestApp {
    let (child, base, banner) = launch(&opts, data.path());
    // With an admin token in the server's env, the harness's own calls carry it.
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some((_, token)) = opts.env.iter().find(|(k, _)| k == "HOOKFLOW_ADMIN_TOKEN") {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .unwrap();
    let mut app = TestApp {
        child,
        base,
        data,
        opts,
        client,
        urls: HashMap::new(),
        banner,
    };
    app.refresh_urls().await;
    app
}

fn launch(opts: &Options, data: &Path) -> (Child, String, Vec<String>) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("server.log"))
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookflow"));
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data")
        .arg(data)
        .arg("--workflows")
        .arg(&opts.workflows)
        .args(&opts.args)
        .env_remove("HOOKFLOW_ADMIN_TOKEN")
        .envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    let mut child = cmd.spawn().expect("start hookflow");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("server did not start; log: {}", server_log(data)));
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .to_string();
    let mut banner = vec![first];
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        banner.push(line);
    }
    (child, addr, banner)
}

/// The server's stderr so far.
pub fn server_log(data: &Path) -> String {
    std::fs::read_to_string(data.join("server.log")).unwrap_or_default()
}

/// The server's stderr once it holds `needle`: lines reach it from the log's writer thread, a
/// moment after what they tell of.
pub async fn server_log_with(data: &Path, needle: &str) -> String {
    eventually(
        &format!("{needle:?} in the log"),
        Duration::from_secs(10),
        || {
            let log = server_log(data);
            async move { log.contains(needle).then_some(log) }
        },
    )
    .await
}

impl TestApp {
    /// Reloads the id → URL map from the API.
    pub async fn refresh_urls(&mut self) {
        let list = self.get_ok("/api/workflows").await;
        self.urls = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["kind"] == "workflow")
            .map(|w| {
                (
                    w["id"].as_str().unwrap().to_string(),
                    w["url"].as_str().unwrap().to_string(),
                )
            })
            .collect();
    }

    /// The inbound URL of a workflow.
    pub fn url(&self, workflow: &str) -> &str {
        self.urls
            .get(workflow)
            .unwrap_or_else(|| panic!("no workflow {workflow}: {:?}", self.urls.keys()))
    }

    /// POSTs a body with a content type to a workflow's URL; returns status and JSON answer.
    pub async fn post_hook(
        &self,
        workflow: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        self.send(
            self.client
                .post(self.url(workflow))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// POSTs `{}` to a workflow's URL with `Authorization: Bearer TOKEN` (`None`: no header).
    pub async fn post_bearer(&self, workflow: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .post(self.url(workflow))
            .header("content-type", "application/json")
            .body("{}");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.send(req).await
    }

    /// Sends a prepared request; returns status and JSON body (Null if not JSON).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                if let Ok(out) = std::env::var("HOOKFLOW_HANG_DUMP") {
                    let bt = Command::new("gdb")
                        .args([
                            "-p",
                            &self.child.id().to_string(),
                            "-batch",
                            "-ex",
                            "thread apply all bt",
                        ])
                        .output();
                    if let Ok(bt) = bt {
                        let _ = std::fs::write(&out, bt.stdout);
                    }
                }
                panic!("request: {e:?}");
            }
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path`, returning status and JSON.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// `GET path`, asserting 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path} → {status} {body}");
        body
    }

    /// One logged request.
    pub async fn request(&self, id: &str) -> Value {
        self.get_ok(&format!("/api/requests/{id}")).await
    }

    /// One workflow's JSON.
    pub async fn workflow(&self, id: &str) -> Value {
        self.get_ok(&format!("/api/workflows/{id}")).await
    }

    /// POSTs a JSON value to a workflow's URL, asserting 200; returns the answer.
    pub async fn post_json(&self, workflow: &str, body: &Value) -> Value {
        let (status, answer) = self
            .post_hook(workflow, "application/json", body.to_string())
            .await;
        assert_eq!(status, 200, "POST {workflow} → {status} {answer}");
        answer
    }

    /// POSTs a sample file as its sender would (a form when it ends in `.form`), asserting 200.
    pub async fn post_sample(&self, workflow: &str, file: &str) -> Value {
        let content_type = if file.ends_with(".form") {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let (status, answer) = self.post_hook(workflow, content_type, sample(file)).await;
        assert_eq!(status, 200, "POST {file} to {workflow} → {status} {answer}");
        answer
    }

    /// One run (queued or recorded).
    /// Moves the manual clock forward (`"2d"`); the server answers once what became due ran.
    pub async fn advance_clock(&self, by: &str) {
        let url = format!("{}/api/clock/advance", self.base);
        let (status, answer) = self
            .send(self.client.post(url).json(&serde_json::json!({ "by": by })))
            .await;
        assert_eq!(status, 200, "clock advance by {by}: {answer}");
    }

    pub async fn run(&self, id: &str) -> Value {
        self.get_ok(&format!("/api/runs/{id}")).await
    }

    /// Polls a run until it no longer is `queued` or `running`; returns it.
    pub async fn wait_run_done(&self, id: &str) -> Value {
        eventually(
            &format!("run {id} to finish"),
            Duration::from_secs(20),
            || async {
                let run = self.run(id).await;
                (!matches!(run["status"].as_str(), Some("queued" | "running"))).then_some(run)
            },
        )
        .await
    }

    /// The finished runs of every accepted item of an inbound answer, in item order.
    pub async fn wait_runs_of(&self, answer: &Value) -> Vec<Value> {
        let mut runs = Vec::new();
        for id in accepted_run_ids(answer) {
            runs.push(self.wait_run_done(&id).await);
        }
        runs
    }

    /// Every run matching a query string such as `workflow=x&status=failed` (all pages).
    pub async fn runs(&self, query: &str) -> Vec<Value> {
        self.list_all("/api/runs", query).await
    }

    /// Every contact matching a query string such as `q=jane&tag=Booked` (all pages).
    pub async fn contacts(&self, query: &str) -> Vec<Value> {
        self.list_all("/api/contacts", query).await
    }

    /// One contact with its `timeline`.
    pub async fn contact(&self, id: &str) -> Value {
        self.get_ok(&format!("/api/contacts/{id}")).await
    }

    /// The one contact whose email is exactly `email`, with its timeline.
    pub async fn contact_by_email(&self, email: &str) -> Value {
        let found: Vec<Value> = self
            .contacts(&format!("q={email}"))
            .await
            .into_iter()
            .filter(|c| c["email"] == email)
            .collect();
        assert_eq!(found.len(), 1, "contacts with email {email}: {found:?}");
        self.contact(found[0]["id"].as_str().unwrap()).await
    }

    async fn list_all(&self, path: &str, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{path}?limit=1000&{query}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page = self.get_ok(&url).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        send_signal(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not stop on SIGTERM");
    }

    /// Kills the server with SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }

    /// Starts a new server process on the same data dir and workflows.
    pub async fn restart(mut self) -> TestApp {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        let opts = self.opts.clone();
        drop(self);
        start(opts, data).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The run ids of an inbound answer's accepted items, in item order.
pub fn accepted_run_ids(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {answer}"))
        .iter()
        .filter(|i| i["status"] == "accepted")
        .map(|i| i["run_id"].as_str().unwrap().to_string())
        .collect()
}

/// The item statuses of an inbound answer, in item order.
pub fn item_statuses(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {answer}"))
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_string())
        .collect()
}

/// `(kind, status)` of each step of a run.
pub fn step_kinds(run: &Value) -> Vec<(String, String)> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The timeline entries a contact got from one step of one run.
pub fn entries_of<'a>(contact: &'a Value, run_id: &str, step: &str) -> Vec<&'a Value> {
    contact["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["run_id"] == run_id && e["step"] == step)
        .collect()
}
