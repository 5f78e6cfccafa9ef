//! A small client of the admin API for the CLI commands.

use anyhow::Context as _;
use serde_json::Value;
use std::time::Duration;

/// Talks to a running server.
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl ApiClient {
    /// A client of `base` with the token from `HOOKFLOW_ADMIN_TOKEN`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            token: std::env::var("HOOKFLOW_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
        }
    }

    /// True when a hookflow server answers `/healthz`.
    pub async fn is_up(&self) -> bool {
        self.http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// `GET /api/...`, failing with the server's error message.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// `POST /api/...` without a body, failing with the server's error message.
    pub async fn post(&self, path: &str) -> anyhow::Result<Value> {
        self.call(self.http.post(format!("{}{path}", self.base)))
            .await
    }

    /// `POST /api/...` with a body.
    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Value> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type);
        self.call(req.body(body)).await
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = self.send_ok(req).await?;
        Ok(resp.json().await.unwrap_or(Value::Null))
    }

    /// A request to `path` on the server, for callers that need the raw response (a streamed
    /// download, a long upload with its own timeout); send it with [`Self::send_ok`].
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Sends with the token; a non-2xx answer fails with the server's error message.
    pub async fn send_ok(
        &self,
        mut req: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("could not reach {}", self.base))?;
        let status = resp.status();
        if !status.is_success() {
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let msg = body["error"]["message"]
                .as_str()
                .unwrap_or("request failed");
            anyhow::bail!("{status}: {msg}");
        }
        Ok(resp)
    }

    /// `POST /api/...` with a JSON body, failing with the server's error message.
    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// `PUT /api/...` with a JSON body, failing with the server's error message.
    pub async fn put_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(self.http.put(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// `DELETE /api/...`, failing with the server's error message.
    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.call(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    /// The base URL (`http://127.0.0.1:8787`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The admin token, if one is set.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The underlying HTTP client (for posting to hooks).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
