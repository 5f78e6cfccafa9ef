//! Startup: build the application from settings (open the store, load workflows, bind the
//! listener, port 0 allowed) and run it until a shutdown signal. Tests start this very code.

mod events;
mod maintenance;
mod reload;
mod restart;

pub use restart::exec_compacting;

use crate::engine::executor::Executor;
use crate::engine::step::email::MailSettings;
use crate::engine::template::Renderer;
use crate::engine::worker::Worker;
use crate::http::{self, HttpState};
use crate::intake::Intake;
use crate::mail::delivery::Mailer;
use crate::mail::transport::{MailConfig, Transport};
use crate::settings::ServeArgs;
use crate::store::clock::Clock;
use crate::store::{Store, StoreError};
use crate::workflow::live::LiveCatalog;
use crate::workflow::report::format_diagnostic;
use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// A built application: store open, workflows loaded, listener bound.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<HttpState>,
    limits: http::server::ConnLimits,
    worker: Arc<Worker>,
    mailer: Arc<Mailer>,
    /// Where mail goes and how (the start-up line; never the password).
    mail_line: String,
    /// hookflow's clock: every time the mailer records comes from it.
    clock: Clock,
    /// `--retain`: how long old records are kept (zero: forever).
    retain: Duration,
    /// `--compact-above`: the sled file size past which the store is compacted (zero: never).
    compact_above: u64,
    /// A compaction asked for at this start failed (no new one until the next start).
    compaction_failed: bool,
    _reloader: Option<reload::Reloader>,
}

impl Application {
    /// Opens everything `serve` needs; errors say what to fix.
    pub async fn build(mut args: ServeArgs) -> anyhow::Result<Self> {
        args.validate().map_err(anyhow::Error::msg)?;
        let mail_config = MailConfig::parse(&args.mail)
            .and_then(|m| m.with_ca(args.mail_ca.as_deref()))
            .map_err(anyhow::Error::msg)?;
        raise_open_file_limit(args.max_connections);
        crate::metrics::install();
        let inherited = restart::inherited_listener()?;
        let compaction_failed = restart::compaction_asked() && !compact_at_start(&args);
        if let Err(e) = crate::domain::contact::Phone::load_numbering_plan(&args.default_region) {
            tracing::warn!(
                error = %e,
                "could not start the thread that loads the phone numbering plan; \
                 the first phone read after this start loads it instead (about 0.2 s)"
            );
        }
        let store = open_store(&args)?;
        crate::engine::wait::zone_named(&args.timezone).map_err(|e| {
            anyhow::anyhow!("--timezone: {e}; use an IANA name such as America/Toronto, or UTC")
        })?;
        let catalog = Arc::new(LiveCatalog::load(&args.workflows));
        let clock = Clock::new(args.clock, store.clone())?;
        let listener = match inherited {
            Some(kept) => TcpListener::from_std(kept)?,
            None => TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("could not listen on {}", args.listen))?,
        };
        let addr = listener.local_addr()?;
        let public_url = args.public_base(addr);
        let transport = Transport::from_config(
            &mail_config,
            &args.data.join("outbox"),
            Duration::from_secs(30),
        )?;
        let mail_line = mail_config.describe();
        let events = {
            let clock = clock.clone();
            Arc::new(crate::events::EventBus::new(Arc::new(move || {
                clock.now_ms()
            })))
        };
        let mailer =
            Arc::new(Mailer::new(store.outbox.clone(), transport).with_events(events.clone()));
        let recovered = mailer.recover()?;
        if recovered > 0 {
            tracing::warn!(
                emails = recovered,
                "emails whose delivery was not confirmed before a crash will be retried"
            );
        }
        let renderer = Arc::new(Renderer::new());
        let queued = Arc::new(Notify::new());
        let intake = Arc::new(
            Intake::new(
                store.clone(),
                catalog.clone(),
                clock.clone(),
                renderer.clone(),
                queued.clone(),
            )
            .with_events(events.clone()),
        );
        let mail = MailSettings {
            from: args.mail_from.clone(),
            public_url: public_url.clone(),
        };
        let executor = Arc::new(
            Executor::new(
                store.clone(),
                catalog.clone(),
                clock.clone(),
                renderer,
                args.default_region.clone(),
                args.timezone.clone(),
                mail,
            )
            .with_events(events.clone()),
        );
        let worker = Arc::new(Worker::new(executor.clone(), queued));
        save_versions(&store, &catalog.current())?;
        // Hook ids exist (and are on disk) before any URL is printed.
        for id in catalog.current().workflows.keys() {
            store.hook_id_for(id)?;
        }
        let cursors = crate::views::cursor::Cursors::new(store.signing_key()?);
        store.flush_now()?;
        let reloader = reload::watch(catalog.clone(), store.clone(), events.clone())
            .map_err(
                |e| tracing::warn!(error = %e, "workflow files will not be reloaded on change"),
            )
            .ok();
        let state = Arc::new(HttpState {
            intake,
            executor,
            public_url,
            admin_token: args.admin_token.clone(),
            body_timeout: Duration::from_secs(args.body_timeout),
            region: args.default_region.clone(),
            worker: worker.clone(),
            cursors,
            events,
        });
        Ok(Self {
            listener,
            addr,
            state,
            worker,
            mailer,
            mail_line,
            clock,
            retain: args.retain,
            compact_above: args.compact_above,
            compaction_failed,
            _reloader: reloader,
            limits: http::server::ConnLimits {
                header_timeout: Duration::from_secs(args.header_timeout),
                max_connections: args.max_connections as usize,
            },
        })
    }

    /// The address actually bound (the real port when port 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The start-up lines: `listening on …`, each workflow's id and URL, then where mail goes.
    pub fn banner(&self) -> Vec<String> {
        let mut lines = vec![format!("listening on http://{}", self.addr)];
        let catalog = self.state.intake.catalog();
        for (id, entry) in &catalog.workflows {
            if let Ok(hook) = self.state.intake.store().hook_id_for(id) {
                let note = match &entry.workflow {
                    Ok(wf) if wf.status == crate::workflow::Status::Draft => "  (draft)",
                    Ok(_) => "",
                    Err(_) => "  (error: see below)",
                };
                lines.push(format!(
                    "{id}\t{}/hooks/{}{note}",
                    self.state.public_url,
                    hook.as_str()
                ));
            }
        }
        lines.push(self.mail_line.clone());
        lines
    }

    /// Errors and warnings of the loaded files, formatted `file:line:column: error: …`.
    pub fn diagnostics(&self) -> Vec<String> {
        let catalog = self.state.intake.catalog();
        let mut out: Vec<String> = catalog
            .all_errors()
            .into_iter()
            .map(|d| format_diagnostic(d, "error"))
            .collect();
        let warnings = catalog
            .workflows
            .values()
            .flat_map(|e| &e.warnings)
            .chain(catalog.sequences.values().flat_map(|e| &e.warnings));
        out.extend(warnings.map(|d| format_diagnostic(d, "warning")));
        out
    }

    /// Serves until `shutdown` resolves, or the store asks to be compacted, then drains open
    /// requests and flushes the store.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<Stopped> {
        let store = self.state.intake.store().clone();
        let routes = http::routes(self.state.clone());
        let worker = tokio::spawn(self.worker.clone().run_forever());
        let wake = self.worker.mail_wake();
        let clock = self.clock.clone();
        let mailer_task = tokio::spawn(
            self.mailer
                .clone()
                .run_forever(wake, move || clock.now_ms()),
        );
        let compact = Arc::new(Notify::new());
        let sweeper = tokio::spawn(maintenance::run_forever(
            store.clone(),
            self.clock.clone(),
            self.worker.clone(),
            maintenance::Upkeep {
                retain: self.retain,
                // No restart to compact where the process cannot exec itself (then `hookflow
                // compact` with it stopped), nor again after one failed at this start.
                compact_above: if restart::supported() && !self.compaction_failed {
                    self.compact_above
                } else {
                    0
                },
                compact: compact.clone(),
            },
        ));
        let packer = tokio::spawn(maintenance::pack_forever(store.clone()));
        // Kept past the server's end when the store is compacted: the new process serves on it.
        let listening = self.listener.as_fd().try_clone_to_owned()?;
        let compacting = Arc::new(AtomicBool::new(false));
        // Event streams never end by themselves: close them so the drain need not wait.
        let events = self.state.events.clone();
        let asked = compacting.clone();
        // A stop asked for waits 10 s for open requests; a restart to compact waits until a
        // long one (a large import) has finished, since nobody asked it to stop.
        let shutdown = async move {
            let drain = tokio::select! {
                _ = shutdown => Duration::from_secs(10),
                _ = compact.notified() => {
                    asked.store(true, Ordering::SeqCst);
                    Duration::from_secs(600)
                }
            };
            events.close();
            drain
        };
        http::server::serve(self.listener, routes, self.limits, shutdown).await;
        worker.abort();
        sweeper.abort();
        packer.abort();
        // Sends in flight finish and are recorded, so a restart repeats no email.
        self.mailer.stop();
        if tokio::time::timeout(Duration::from_secs(30), mailer_task)
            .await
            .is_err()
        {
            tracing::warn!("email sends still in flight at shutdown will be retried");
        }
        store.flush_now()?;
        Ok(if compacting.load(Ordering::SeqCst) {
            Stopped::ToCompact(listening)
        } else {
            Stopped::Signal
        })
    }
}

/// Why [`Application::run_until`] returned.
pub enum Stopped {
    /// The shutdown future resolved (a signal): exit.
    Signal,
    /// The store asked to be compacted: restart in place on this listening socket
    /// ([`exec_compacting`]).
    ToCompact(OwnedFd),
}

/// Compacts the store before it is opened, as a restart asked; `false` when that failed, which
/// leaves the store as it was, so the server starts anyway.
fn compact_at_start(args: &ServeArgs) -> bool {
    match crate::store::compact::compact(&args.data, args.cache_bytes()) {
        Ok(done) => {
            tracing::info!(
                before_mib = done.before >> 20,
                after_mib = done.after >> 20,
                records = done.records,
                ms = done.took.as_millis() as u64,
                "compacted the store"
            );
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "could not compact the store; serving it as it is");
            false
        }
    }
}

fn open_store(args: &ServeArgs) -> anyhow::Result<Store> {
    Store::open_with(&args.data, args.cache_bytes(), args.accept_data_loss).map_err(|e| match e {
        StoreError::Locked => anyhow::anyhow!(
            "data dir {} is in use by another hookflow process",
            args.data.display()
        ),
        unreadable @ (StoreError::Unreadable { .. } | StoreError::Behind { .. }) => {
            anyhow::Error::new(unreadable)
        }
        other => anyhow::Error::new(other)
            .context(format!("could not open data dir {}", args.data.display())),
    })
}

/// Raises the soft limit on open files to the hard limit: each connection holds one, and the
/// store and outbox need theirs too.
fn raise_open_file_limit(max_connections: u32) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(limit, "open-file limit");
            if limit < u64::from(max_connections) + 64 {
                tracing::warn!(
                    limit,
                    max_connections,
                    "the open-file limit is below --max-connections plus the store's needs; \
                     lower --max-connections or raise the hard limit (ulimit -Hn)"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Stores the text of every loaded file under its version, so runs can finish on it later.
fn save_versions(store: &Store, catalog: &crate::workflow::Catalog) -> anyhow::Result<()> {
    for (id, entry) in &catalog.workflows {
        if let Ok(wf) = &entry.workflow {
            store.save_version(id.as_str(), &wf.version, &wf.source)?;
        }
    }
    for (id, entry) in &catalog.sequences {
        if let Ok(seq) = &entry.sequence {
            store.save_version(id.as_str(), &seq.version, &seq.source)?;
        }
    }
    Ok(())
}
