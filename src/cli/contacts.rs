//! `hookflow contacts list|show|export|import`: contacts from the terminal, through a running
//! server's API or, when none answers, the data dir itself. Tables for people; `--json` prints
//! the API's own document (for a list, `{"items", "next_cursor"}`).

use super::client::ApiClient;
use super::list::{self, Page};
use super::output;
use crate::domain::time::wall_now_ms;
use crate::store::compact::growth_is_live;
use crate::store::contacts::{ChangeCtx, ContactQuery};
use crate::store::Store;
use anyhow::Context as _;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use view::{print_contact, print_list, print_report};

mod view;

/// Uploads and downloads of a whole contact base take longer than the client's usual 30 s.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// `hookflow contacts …`.
#[derive(Debug, clap::Args)]
pub struct ContactsArgs {
    #[command(subcommand)]
    pub command: ContactsCommand,
}

/// Where contacts come from when no server answers.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Data directory (used only when no server answers).
    #[arg(long, env = "HOOKFLOW_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Region of phones without a +country prefix (without a server; a server uses its own).
    #[arg(long, env = "HOOKFLOW_DEFAULT_REGION", default_value = "US")]
    pub default_region: String,
}

/// The `contacts` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ContactsCommand {
    /// List contacts, newest first: a name or email substring, an exact email or phone, tags.
    List {
        /// Search text (`q`).
        #[arg(long)]
        q: Option<String>,
        /// A tag the contacts must have (repeat for several; all must match).
        #[arg(long)]
        tag: Vec<String>,
        #[command(flatten)]
        page: Page,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One contact with its tags, custom fields, sequences and timeline.
    Show {
        /// A contact id, an email or a phone.
        key: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write contacts as CSV (GHL's columns) to FILE, or to stdout.
    Export {
        /// Output file (stdout when absent).
        file: Option<PathBuf>,
        /// Only contacts matching this search.
        #[arg(long)]
        q: Option<String>,
        /// Only contacts with this tag (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Create or update contacts from a CSV file; prints created / updated / skipped.
    Import {
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the command reads and writes.
enum Backend {
    Server(ApiClient),
    Local(Store, String),
}

impl Backend {
    async fn pick(server: &str, store: &StoreArgs) -> anyhow::Result<Self> {
        let client = ApiClient::new(server);
        if client.is_up().await {
            return Ok(Self::Server(client));
        }
        Ok(Self::Local(
            Store::open(&store.data)?,
            store.default_region.clone(),
        ))
    }
}

/// Runs a `contacts` subcommand.
pub async fn run(server: &str, json: bool, args: &ContactsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ContactsCommand::List {
            q,
            tag,
            page,
            store,
        } => {
            let query = ContactQuery {
                q: q.clone(),
                tags: tag.clone(),
                limit: page.limit,
                cursor: page.cursor.clone(),
            };
            let found = list(Backend::pick(server, store).await?, &query, page).await?;
            if json {
                output::json(&found);
            } else {
                let mut flags = vec![("q", q.as_deref())];
                flags.extend(tag.iter().map(|t| ("tag", Some(t.as_str()))));
                print_list(&found, &list::again("contacts list", &flags, page.limit));
            }
        }
        ContactsCommand::Show { key, store } => {
            let contact = show(Backend::pick(server, store).await?, key).await?;
            if json {
                output::json(&contact);
            } else {
                print_contact(&contact);
            }
        }
        ContactsCommand::Export {
            file,
            q,
            tag,
            store,
        } => {
            let query = ContactQuery {
                q: q.clone(),
                tags: tag.clone(),
                ..ContactQuery::default()
            };
            export(Backend::pick(server, store).await?, &query, file.as_deref()).await?;
        }
        ContactsCommand::Import { file, store } => {
            let data =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let report = import(Backend::pick(server, store).await?, data).await?;
            if json {
                output::json(&report);
            } else {
                print_report(&report);
            }
        }
    }
    output::finish();
    Ok(ExitCode::SUCCESS)
}

async fn list(backend: Backend, query: &ContactQuery, page: &Page) -> anyhow::Result<Value> {
    match backend {
        Backend::Server(client) => {
            let mut filters = vec![("q", query.q.as_deref())];
            filters.extend(query.tags.iter().map(|t| ("tag", Some(t.as_str()))));
            list::fetch(&client, "/api/contacts", &filters, page).await
        }
        Backend::Local(store, region) => {
            anyhow::ensure!(
                (1..=1000).contains(&query.limit),
                "--limit must be between 1 and 1000"
            );
            let (items, next) = store.contacts.list(query, &region)?;
            Ok(json!({"items": items, "next_cursor": next}))
        }
    }
}

async fn show(backend: Backend, key: &str) -> anyhow::Result<Value> {
    let key = key.trim();
    let found: Vec<Value> = match &backend {
        Backend::Server(client) if ulid::Ulid::from_string(key).is_ok() => {
            return client.get(&format!("/api/contacts/{key}")).await;
        }
        Backend::Server(client) => {
            if !key.contains('@') && !looks_like_phone(key) {
                anyhow::bail!("`{key}` is not a contact id, an email or a phone; search names with `hookflow contacts list --q`");
            }
            let qs = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", key)
                .append_pair("limit", "1000")
                .finish();
            let page = client.get(&format!("/api/contacts?{qs}")).await?;
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| is_exactly(c, key))
                .cloned()
                .collect()
        }
        Backend::Local(store, region) => store
            .contacts
            .resolve(key, region)?
            .into_iter()
            .map(|c| serde_json::to_value(c).expect("contacts serialise"))
            .collect(),
    };
    let id = match found.as_slice() {
        [] => anyhow::bail!("no contact matches `{key}`"),
        [one] => one["id"].as_str().unwrap_or_default().to_string(),
        many => {
            let ids: Vec<String> = many
                .iter()
                .map(|c| format!("{} ({})", c["id"], c["email"]))
                .collect();
            anyhow::bail!(
                "{} contacts match `{key}`: {}; show one by id",
                many.len(),
                ids.join(", ")
            )
        }
    };
    match backend {
        Backend::Server(client) => client.get(&format!("/api/contacts/{id}")).await,
        Backend::Local(store, _) => {
            let mut doc = found.into_iter().next().unwrap_or_default();
            doc["timeline"] = serde_json::to_value(store.contacts.timeline(&id)?)?;
            Ok(doc)
        }
    }
}

/// Whether a contact the API's `q` found is the one `key` names: `q` is a substring search
/// for an email (and for a phone the server cannot parse), so keep the exact matches only.
fn is_exactly(c: &Value, key: &str) -> bool {
    if key.contains('@') {
        return c["email"].as_str() == Some(key.to_lowercase().as_str());
    }
    // A national number drops its trunk 0 in E.164 (`07700 900123` is `+447700900123`).
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    c["phone"]
        .as_str()
        .is_some_and(|p| !digits.is_empty() && p.ends_with(digits))
}

/// The same rule as the API's `q`: only phone characters make a phone.
fn looks_like_phone(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

async fn import(backend: Backend, data: Vec<u8>) -> anyhow::Result<Value> {
    match backend {
        Backend::Server(client) => {
            let req = client
                .request(reqwest::Method::POST, "/api/contacts/import")
                .header("content-type", "text/csv; charset=utf-8")
                .timeout(TRANSFER_TIMEOUT)
                .body(data);
            Ok(client.send_ok(req).await?.json().await?)
        }
        Backend::Local(store, region) => {
            let ctx = ChangeCtx::import(wall_now_ms());
            let report = growth_is_live(&store, || {
                store.with_own_dictionary(|| store.contacts.import_csv(&data, &region, &ctx))
            })??;
            Ok(serde_json::to_value(report)?)
        }
    }
}

async fn export(backend: Backend, query: &ContactQuery, file: Option<&Path>) -> anyhow::Result<()> {
    // A file is written beside its name and renamed when complete: a failed export never
    // leaves a file that looks whole.
    let partial = file.map(|f| f.with_extension("csv.part"));
    let mut out: Box<dyn Write> = match &partial {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(output::Stdout)),
    };
    let result: anyhow::Result<()> = match backend {
        Backend::Server(client) => {
            let mut qs = url::form_urlencoded::Serializer::new(String::new());
            if let Some(q) = &query.q {
                qs.append_pair("q", q);
            }
            for t in &query.tags {
                qs.append_pair("tag", t);
            }
            let req = client
                .request(
                    reqwest::Method::GET,
                    &format!("/api/contacts/export?{}", qs.finish()),
                )
                .timeout(TRANSFER_TIMEOUT);
            let mut resp = client.send_ok(req).await?;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Err(e) = out.write_all(&chunk) {
                            break Err(e.into());
                        }
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(anyhow::anyhow!("the export was cut short: {e}")),
                }
            }
        }
        Backend::Local(store, region) => {
            let columns = store.contacts.export_columns(query, &region)?;
            match store
                .contacts
                .export_csv(query, &region, &columns, &mut out)
            {
                Ok(_) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
    };
    let result = result.and_then(|()| Ok(out.flush()?));
    drop(out);
    if let (Some(part), Some(file)) = (&partial, file) {
        if let Err(e) = result {
            let _ = std::fs::remove_file(part);
            return Err(e);
        }
        std::fs::rename(part, file).with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("exported contacts to {}", file.display());
    }
    result
}
