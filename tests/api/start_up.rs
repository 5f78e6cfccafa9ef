//! Starting `hookflow serve` with settings it must refuse: shared by the tests of start-up checks.

use crate::helpers::repo;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `hookflow serve ARGS` on a fresh data dir, expected to refuse to start: its exit status and
/// stderr.
pub fn serve_refused(args: &[&str], env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let data = tempfile::tempdir().unwrap();
    serve_refused_on(data.path(), args, env)
}

/// `hookflow serve ARGS` on `data`, expected to refuse to start: its exit status and stderr.
pub fn serve_refused_on(
    data: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--workflows")
        .arg(repo().join("workflows"))
        .args(args)
        .env_remove("HOOKFLOW_ADMIN_TOKEN")
        .env_remove("HOOKFLOW_LOG")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve {args:?} started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
