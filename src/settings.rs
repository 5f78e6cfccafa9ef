//! Settings of `hookflow serve`: what the user typed (flags or `HOOKFLOW_*` variables),
//! validated into values the application can use.

use crate::mail::transport::MailConfig;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Which clock drives `now`, waits and dedupe windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    Real,
    Manual,
}

/// Flags of `hookflow serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory of workflow YAML files (sequences in `sequences/`, templates in `templates/`).
    #[arg(long, env = "HOOKFLOW_WORKFLOWS", default_value = "./workflows")]
    pub workflows: PathBuf,
    /// Data directory (sled store, outbox `.eml` files). One process at a time.
    #[arg(long, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "HOOKFLOW_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// `outbox` (default) or `smtp://user:pass@host:port` / `smtps://…`.
    #[arg(long, env = "HOOKFLOW_MAIL", default_value = "outbox")]
    pub mail: String,
    /// PEM certificates trusted besides the bundled roots (a relay with a company CA).
    #[arg(long, env = "HOOKFLOW_MAIL_CA")]
    pub mail_ca: Option<PathBuf>,
    /// Sender address of emails.
    #[arg(
        long,
        env = "HOOKFLOW_MAIL_FROM",
        default_value = "hookflow <noreply@localhost>"
    )]
    pub mail_from: String,
    /// `real` or `manual` (a stored clock moved by `hookflow clock advance`).
    #[arg(long, env = "HOOKFLOW_CLOCK", value_enum, default_value_t = ClockMode::Real)]
    pub clock: ClockMode,
    /// Base of printed URLs and email links (default `http://LISTEN`).
    #[arg(long, env = "HOOKFLOW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Region used to read phone numbers written without a country code.
    #[arg(long, env = "HOOKFLOW_DEFAULT_REGION", default_value = "US")]
    pub default_region: String,
    /// Timezone for `wait: {until}` when a contact has none (IANA name or UTC).
    #[arg(long, env = "HOOKFLOW_TIMEZONE", default_value = "UTC")]
    pub timezone: String,
    /// Seconds a client may take to send request headers before the connection is closed.
    #[arg(long, env = "HOOKFLOW_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request body.
    #[arg(long, env = "HOOKFLOW_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// Token required on `/api/*` and `/metrics` (read from the environment only).
    #[arg(skip)]
    pub admin_token: Option<String>,
}

impl ServeArgs {
    /// Validates flag combinations; the error says what to change.
    pub fn validate(&mut self) -> Result<MailConfig, String> {
        if self.admin_token.is_none() {
            self.admin_token = std::env::var("HOOKFLOW_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty());
        }
        if !self.listen.ip().is_loopback() && self.admin_token.is_none() {
            return Err(format!(
                "refusing to listen on non-loopback address {} without HOOKFLOW_ADMIN_TOKEN: \
                 set it to protect /api/* or listen on 127.0.0.1",
                self.listen
            ));
        }
        MailConfig::parse(&self.mail)
            .and_then(|m| m.with_ca(self.mail_ca.as_deref()))
            .map_err(|e| e.to_string())
    }

    /// The base URL printed for hooks and used in email links.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}
