//! Servers on a workflows dir written for one test.

use super::{spawn_with, Options, TestApp};

/// Starts a server on a workflows dir holding these files; keep the dir as long as the app.
pub async fn spawn_workflows(files: &[(&str, &str)]) -> (TestApp, tempfile::TempDir) {
    spawn_workflows_env(files, &[]).await
}

/// [`spawn_workflows`], with these variables set for the server (secrets, log level).
pub async fn spawn_workflows_env(
    files: &[(&str, &str)],
    env: &[(&str, &str)],
) -> (TestApp, tempfile::TempDir) {
    let dir = workflows_dir(files);
    let app = spawn_with(Options {
        workflows: dir.path().to_path_buf(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Options::default()
    })
    .await;
    (app, dir)
}

/// Writes a workflows dir with the given files (path → text) into a temp dir.
pub fn workflows_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}
