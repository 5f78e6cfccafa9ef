//! The catalog the server is running, swapped whole on reload so readers never see a mix.

use super::load::load_dir;
use super::Catalog;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The loaded workflows of a directory, replaceable at run time.
pub struct LiveCatalog {
    dir: PathBuf,
    current: RwLock<Arc<Catalog>>,
}

impl LiveCatalog {
    /// Loads `dir` (secrets from the process environment).
    pub fn load(dir: &Path) -> Self {
        let catalog = load_dir(dir, &|name| std::env::var(name).ok());
        Self {
            dir: dir.to_path_buf(),
            current: RwLock::new(Arc::new(catalog)),
        }
    }

    /// The catalog in force now.
    pub fn current(&self) -> Arc<Catalog> {
        self.current.read().expect("catalog lock").clone()
    }

    /// Reloads the directory and returns the new catalog.
    pub fn reload(&self) -> Arc<Catalog> {
        let fresh = Arc::new(load_dir(&self.dir, &|name| std::env::var(name).ok()));
        *self.current.write().expect("catalog lock") = fresh.clone();
        fresh
    }

    /// The directory being served.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
