//! The `hookflow` command line as the tests run it: the bare command, a `check` that sees only
//! its files, and the stdout of a command that must succeed.

use std::process::{Command, Output};

/// The `hookflow` binary as a user runs it, without the settings a developer's shell may hold
/// (admin token, server, data dir, clock): each test says what it means.
pub fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookflow"));
    for name in [
        "HOOKFLOW_ADMIN_TOKEN",
        "HOOKFLOW_SERVER",
        "HOOKFLOW_DATA",
        "HOOKFLOW_CLOCK",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// The stdout of a command that must have succeeded; its exit status, stdout and stderr when
/// it did not.
pub fn stdout_ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Nothing listens here: port 9 (discard) is closed on loopback.
pub const DEAD: &str = "http://127.0.0.1:9";

/// `hookflow check` of the workflows in `dir` against `server`, with a data dir that does not
/// exist: what it reports comes from the files and that server alone.
pub fn check_command(dir: impl AsRef<std::ffi::OsStr>, server: &str) -> Command {
    let mut cmd = cli();
    cmd.args([
        "check",
        "--server",
        server,
        "--data",
        "/nonexistent/hookflow",
    ])
    .arg("--workflows")
    .arg(dir);
    cmd
}
