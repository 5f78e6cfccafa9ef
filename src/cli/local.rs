//! Where a read-only view gets its document: a running server's API, or, when none answers,
//! the data dir opened by the command itself. Both give the same JSON (built by
//! [`crate::views`]); an offline view only reads: no worker, no mail, no timers.

use super::client::ApiClient;
use super::list::{self, Page};
use crate::store::Store;
use crate::views::cursor::Cursors;
use crate::views::ViewResult;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `--data` of the views that read the store when no server answers.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Data directory (used only when no server answers).
    #[arg(long, global = true, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// A running server, or the data dir opened here.
pub enum Source {
    /// A server answered `/healthz`.
    Server(ApiClient),
    /// No server answered: the store itself, with its cursor key.
    Local { store: Store, cursors: Cursors },
}

impl Source {
    /// The server at `server` if one answers, else the store in `data`; a dir another process
    /// holds fails with `data dir in use; pass --server` (exit 2).
    pub async fn pick(server: &str, data: &Path) -> anyhow::Result<Self> {
        let client = ApiClient::new(server);
        if client.is_up().await {
            return Ok(Self::Server(client));
        }
        // Opening would create an empty store: say what is missing instead.
        if !data.join("sled").exists() {
            anyhow::bail!(
                "no hookflow server answers at {server} and {} holds no data; start one with \
                 `hookflow serve`, or pass --server URL or --data DIR",
                data.display()
            );
        }
        let store = Store::open(data)?;
        let cursors = Cursors::new(store.signing_key()?);
        Ok(Self::Local { store, cursors })
    }

    /// `GET path` from the server, or the same document built from the store.
    pub async fn get(
        &self,
        path: &str,
        local: impl FnOnce(&Store, &Cursors) -> ViewResult<Value>,
    ) -> anyhow::Result<Value> {
        match self {
            Self::Server(client) => client.get(path).await,
            Self::Local { store, cursors } => Ok(local(store, cursors)?),
        }
    }

    /// One page of the list at `path` with `filters`, from the server or the store.
    pub async fn page(
        &self,
        path: &str,
        filters: &[(&str, Option<&str>)],
        page: &Page,
        local: impl FnOnce(&Store, &Cursors, Option<&str>, usize) -> ViewResult<Value>,
    ) -> anyhow::Result<Value> {
        match self {
            Self::Server(client) => list::fetch(client, path, filters, page).await,
            Self::Local { store, cursors } => {
                let limit = crate::views::page_limit(Some(page.limit))?;
                Ok(local(store, cursors, page.cursor.as_deref(), limit)?)
            }
        }
    }
}
