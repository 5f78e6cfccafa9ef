//! Settings of `hookflow serve`: what the user typed (flags or `HOOKFLOW_*` variables),
//! validated into values the application can use.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::domain::time::ClockMode;

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
    #[arg(long, env = "HOOKFLOW_CLOCK", default_value = "real",
          value_parser = PossibleValuesParser::new(ClockMode::NAMES)
              .map(|s| s.parse::<ClockMode>().expect("a listed name")))]
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
    /// At most this many connections are open at once; past it new ones are closed at once.
    #[arg(long, env = "HOOKFLOW_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Memory for sled's page cache (`64MiB`, `512KiB`): bounds memory whatever the data.
    #[arg(long, env = "HOOKFLOW_CACHE", default_value = "32MiB", value_parser = parse_cache)]
    pub cache: u64,
    /// Delete requests, finished runs and sent emails older than this on hookflow's clock
    /// (`30d`, `12w`); `0` keeps everything.
    #[arg(long, env = "HOOKFLOW_RETAIN", default_value = "30d", value_parser = parse_retain)]
    pub retain: std::time::Duration,
    /// Compact the store (restarting in place, the listening socket kept) once sled's file is
    /// above this size and twice its size after the last compaction; `0` never does.
    #[arg(long, env = "HOOKFLOW_COMPACT_ABOVE", default_value = "256MiB",
          value_parser = crate::domain::size::parse_size)]
    pub compact_above: u64,
    /// Start even when the store holds less than its control file says was acknowledged
    /// (a damaged or replaced sled `db`); the loss is logged and the file follows the store.
    #[arg(long)]
    pub accept_data_loss: bool,
    /// Token required on `/api/*` and `/metrics` (read from the environment only).
    #[arg(skip)]
    pub admin_token: Option<String>,
}

impl ServeArgs {
    /// Validates flag combinations; the error says what to change. (`--mail` is read by the
    /// mail module: settings stay plain values.)
    pub fn validate(&mut self) -> Result<(), String> {
        if self.admin_token.is_none() {
            self.admin_token = std::env::var("HOOKFLOW_ADMIN_TOKEN").ok();
        }
        // A blank token would make `Authorization: Bearer` with nothing after it the password.
        if self
            .admin_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err("HOOKFLOW_ADMIN_TOKEN is set but blank: set it to a secret \
                        (e.g. `openssl rand -hex 32`) or unset it"
                .to_string());
        }
        // `::ffff:127.0.0.1` is the IPv4 loopback written as IPv6.
        if !self.listen.ip().to_canonical().is_loopback() && self.admin_token.is_none() {
            return Err(format!(
                "refusing to listen on non-loopback address {} without HOOKFLOW_ADMIN_TOKEN: \
                 set it to protect /api/* or listen on 127.0.0.1",
                self.listen
            ));
        }
        Ok(())
    }

    /// `--cache` in bytes, as sled wants it.
    pub fn cache_bytes(&self) -> u64 {
        self.cache
    }

    /// The base URL printed for hooks and used in email links.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

/// `--cache SIZE`: a size such as `64MiB`; zero would leave sled no cache at all.
fn parse_cache(text: &str) -> Result<u64, String> {
    match crate::domain::size::parse_size(text)? {
        0 => Err("the cache needs at least 1 byte; try 32MiB".to_string()),
        n => Ok(n),
    }
}

/// `--retain DURATION`: a duration such as `30d`, or `0` to keep everything.
fn parse_retain(text: &str) -> Result<std::time::Duration, String> {
    if text.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    crate::domain::duration::parse_duration(text)
        .map_err(|e| format!("{e}; or `0` to keep everything"))
}
