//! Hot reload: marketers edit `workflows/*.yaml` while the server runs. A debounced watcher
//! reloads the whole directory; new requests and runs use the new files, runs already started
//! stay on the version they began with (kept in the store by hash).

use super::save_versions;
use crate::store::Store;
use crate::workflow::live::LiveCatalog;
use crate::workflow::report::format_diagnostic;
use notify_debouncer_full::notify::event::ModifyKind;
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::sync::Arc;
use std::time::Duration;

/// Keeps the watcher alive; dropping it stops the reloads.
pub struct Reloader {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

/// Starts watching the catalog's directory.
pub fn watch(
    catalog: Arc<LiveCatalog>,
    store: Store,
    bus: Arc<crate::events::EventBus>,
) -> anyhow::Result<Reloader> {
    let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(Duration::from_millis(250), None, tx)?;
    debouncer.watch(catalog.dir(), RecursiveMode::Recursive)?;
    std::thread::spawn(move || {
        for events in rx {
            // Reading a file is an event too (inotify open/close): reloading on those would
            // read the files again and loop. Only changes to the files count.
            if events.is_ok_and(|events| events.iter().any(|e| is_change(&e.event.kind))) {
                reload(&catalog, &store, &bus);
            }
        }
    });
    Ok(Reloader {
        _debouncer: debouncer,
    })
}

/// A file was created, written, renamed or removed (not merely read or touched).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

fn reload(catalog: &LiveCatalog, store: &Store, bus: &crate::events::EventBus) {
    let before = catalog.current();
    let fresh = catalog.reload();
    if let Err(e) = save_versions(store, &fresh) {
        tracing::error!(error = %e, "could not store the reloaded workflow versions");
    }
    for id in fresh.workflows.keys() {
        if let Err(e) = store.hook_id_for(id) {
            tracing::error!(error = %e, workflow = %id, "could not create a hook id");
        }
    }
    let _ = store.flush_now();
    bus.publish_all(super::events::reload_changes(&before, &fresh));
    for d in fresh.all_errors() {
        tracing::warn!("{}", format_diagnostic(d, "error"));
    }
    tracing::info!(
        workflows = fresh.workflows.len(),
        sequences = fresh.sequences.len(),
        "workflows reloaded"
    );
}
