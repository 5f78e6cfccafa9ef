//! The CLI's views of a running server (`requests`, `runs`, `outbox`, `reference`, `rotate`),
//! their `--json` documents field by field, and output to a closed pipe.

use crate::helpers::*;
use std::process::{Command, Output, Stdio};

fn hookflow(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookflow"));
    cmd.env_remove("HOOKFLOW_ADMIN_TOKEN")
        .env_remove("HOOKFLOW_SERVER")
        .args(["--server", &app.base]);
    cmd
}

/// Runs a command whose stdout is a pipe nobody reads any more (`| head -0`).
fn into_closed_pipe(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly_with_status_0() {
    let app = spawn_app().await;
    app.post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let commands: Vec<Vec<&str>> = vec![vec!["urls"], vec!["urls", "--json"], vec!["clock"]];
    for args in commands {
        let mut cmd = hookflow(&app);
        cmd.args(&args);
        let out = into_closed_pipe(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
