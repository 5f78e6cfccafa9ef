//! A server started by hand, outside [`crate::helpers::TestApp`]: no harness connection left
//! open in a pool, stderr wherever the test wants it.

use super::workflows_dir;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Killed on drop.
pub struct Raw {
    pub child: Child,
    /// `host:port`, as the `listening on` line printed it.
    pub addr: String,
    pub data: tempfile::TempDir,
    _workflows: tempfile::TempDir,
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a [`Raw`] server is started.
pub struct RawOptions<'a> {
    /// The one workflow, as `open.yaml`.
    pub workflow: &'a str,
    pub listen: &'a str,
    pub args: &'a [&'a str],
    /// Runs first in `sh` (e.g. a `ulimit`).
    pub shell: &'a str,
    /// Set for the server; the admin token is unset unless named.
    pub env: &'a [(&'a str, &'a str)],
}

/// `hookflow serve` on a fresh data dir with `stderr` as its stderr (`None`: `DATA/server.log`).
pub fn serve_raw_with(opts: &RawOptions<'_>, stderr: Option<Stdio>) -> Raw {
    let workflows = workflows_dir(&[("open.yaml", opts.workflow)]);
    let data = tempfile::tempdir().unwrap();
    let stderr = stderr.unwrap_or_else(|| {
        Stdio::from(std::fs::File::create(data.path().join("server.log")).unwrap())
    });
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{}\nexec \"$0\" \"$@\"", opts.shell))
        .arg(env!("CARGO_BIN_EXE_hookflow"))
        .args(["serve", "--listen", opts.listen, "--data"])
        .arg(data.path())
        .arg("--workflows")
        .arg(workflows.path())
        .args(opts.args)
        .env_remove("HOOKFLOW_ADMIN_TOKEN")
        .envs(opts.env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| {
            panic!(
                "first line {first:?}; log: {}",
                super::server_log(data.path())
            )
        })
        .to_string();
    Raw {
        child,
        addr,
        data,
        _workflows: workflows,
    }
}
