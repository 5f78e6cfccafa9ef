//! A full disk: the data dir on a 48 MB tmpfs, filled under load. New requests get 503
//! `store_unavailable`, never a 2xx for something not stored; the server keeps answering; once
//! space is freed it accepts again without a restart; and nothing acknowledged is lost.

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A tmpfs of `size` mounted on a temp dir, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this machine does not let the tests mount (not root, no CAP_SYS_ADMIN).
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here ({}); the full-disk test needs root",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Free bytes on the filesystem of `dir`.
fn available(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Takes all but `leave` bytes of the filesystem of `dir` with one file.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let filler = dir.join("filler");
    let size = available(dir).saturating_sub(leave);
    let out = Command::new("fallocate")
        .args(["-l", &size.to_string()])
        .arg(&filler)
        .output()
        .unwrap();
    stdout_ok(&out);
    filler
}

async fn post_booking(app: &TestApp) -> (u16, serde_json::Value) {
    app.post_hook(
        "optimantra-booking",
        "application/json",
        sample("optimantra/booking.json"),
    )
    .await
}

#[tokio::test]
async fn a_full_disk_is_a_503_that_loses_nothing_and_passes_once_space_is_freed() {
    let Some(disk) = SmallDisk::mount("48m") else {
        return;
    };
    let data = tempfile::tempdir_in(disk.path()).unwrap();
    let mut app = spawn_on(Options::default(), data).await;
    let mut acked = Vec::new();
    for _ in 0..20 {
        let (s, answer) = post_booking(&app).await;
        assert_eq!(s, 200, "{answer}");
        acked.push(answer["request_id"].as_str().unwrap().to_string());
    }

    // Fill the disk while bookings keep arriving.
    let filler = {
        let dir = disk.path().to_path_buf();
        tokio::task::spawn_blocking(move || fill(&dir, 1024 * 1024))
    };
    let mut refused = 0;
    for _ in 0..2_000 {
        let (s, answer) = post_booking(&app).await;
        match s {
            200 => acked.push(answer["request_id"].as_str().unwrap().to_string()),
            503 => {
                assert_eq!(answer["error"]["code"], "store_unavailable", "{answer}");
                refused += 1;
                if refused >= 20 && filler.is_finished() {
                    break;
                }
            }
            other => panic!("a booking on a full disk got {other}: {answer}"),
        }
    }
    let filler = filler.await.unwrap();
    assert!(available(disk.path()) < 8 * 1024 * 1024);
    assert!(
        refused >= 20,
        "no 503 on a full disk ({} acked)",
        acked.len()
    );

    // Still answering while full.
    let (s, _) = app.get("/healthz").await;
    assert_eq!(s, 200);
    let (s, body) = app.get("/api/requests?limit=5").await;
    assert_eq!(s, 200, "{body}");
    let (s, answer) = post_booking(&app).await;
    assert_eq!(
        (s, &answer["error"]["code"]),
        (503, &"store_unavailable".into())
    );

    // Space is freed: requests pass again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let answer = eventually(
        "a booking accepted after the disk was freed",
        Duration::from_secs(30),
        || async {
            let (s, answer) = post_booking(&app).await;
            (s == 200).then_some(answer)
        },
    )
    .await;
    acked.push(answer["request_id"].as_str().unwrap().to_string());

    for id in &acked {
        let (s, body) = app.get(&format!("/api/requests/{id}")).await;
        assert_eq!(s, 200, "acknowledged request {id} not readable: {body}");
    }
    app.stop();
    let app = app.restart().await;
    for id in &acked {
        let (s, body) = app.get(&format!("/api/requests/{id}")).await;
        assert_eq!(
            s, 200,
            "acknowledged request {id} lost in a restart: {body}"
        );
    }
}

#[tokio::test]
async fn an_import_stops_at_the_reserve_and_leaves_the_store_writable() {
    let Some(disk) = SmallDisk::mount("48m") else {
        return;
    };
    let data = tempfile::tempdir_in(disk.path()).unwrap();
    let app = spawn_on(Options::default(), data).await;
    // 14 MiB free, 6 above the reserve; 20,000 new contacts take several times that in sled.
    let filler = fill(disk.path(), 14 << 20);
    let mut csv = String::from("first_name,last_name,email,tags\n");
    for i in 0..20_000 {
        csv.push_str(&format!("Ana{i},Reyes{i},ana{i}@example.com,imported\n"));
    }
    let (s, answer) = crate::contacts_csv::post_csv(&app, "text/csv", &csv).await;
    assert_eq!(
        (s, &answer["error"]["code"]),
        (503, &"store_unavailable".into()),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("the import stopped after"), "{message}");
    assert!(
        message.contains("below the 8 MiB kept in reserve"),
        "{message}"
    );

    // Space is freed: the store takes writes again without a restart (sled never met the
    // full disk, which would have failed every write until one), and the rows before the stop
    // are there.
    std::fs::remove_file(&filler).unwrap();
    let (s, answer) = post_booking(&app).await;
    assert_eq!(s, 200, "{answer}");
    let before_the_stop = app.contacts("tag=imported").await.len() as u64;
    assert!(
        message.contains(&format!("after {before_the_stop} rows")),
        "{before_the_stop} imported: {message}"
    );
    assert!((1..20_000).contains(&before_the_stop), "{before_the_stop}");
    let (s, answer) = crate::contacts_csv::post_csv(&app, "text/csv", &csv).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(
        answer["created"].as_u64().unwrap() + answer["updated"].as_u64().unwrap(),
        20_000
    );
}

#[tokio::test]
async fn a_compaction_without_room_for_its_copy_waits_for_space_instead_of_restarting() {
    let Some(disk) = SmallDisk::mount("48m") else {
        return;
    };
    let data = tempfile::tempdir_in(disk.path()).unwrap();
    let app = spawn_on(crate::compaction::compacting_soon(), data).await;
    let sled = app.data.path().join("sled/db");
    let mut last = serde_json::Value::Null;
    while std::fs::metadata(&sled).unwrap().len() < 3 << 20 {
        let (s, answer) = post_booking(&app).await;
        assert_eq!(s, 200, "{answer}");
        last = answer;
    }
    // The acknowledged bookings' runs and emails still write after their answers (on a busy
    // machine, a backlog of them): let them finish first, so that the room left below is the
    // room the next request finds.
    app.wait_runs_of(&last).await;
    eventually("the outbox drained", Duration::from_secs(30), || async {
        let queued = app.get_ok("/api/outbox?state=queued&limit=1").await;
        queued["items"].as_array().unwrap().is_empty().then_some(())
    })
    .await;
    // Room for new requests (above the 8 MiB reserve), not for a copy of the file besides.
    let filler = fill(disk.path(), 9 << 20);
    app.advance_clock("2d").await;
    let log_path = app.data.path().join("server.log");
    let log = eventually("the compaction check", Duration::from_secs(30), || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        async move { log.contains("cannot be compacted now").then_some(log) }
    })
    .await;
    assert!(log.contains("needs up to"), "{log}");
    assert!(!log.contains("restarting to compact"), "{log}");
    let (s, answer) = post_booking(&app).await;
    assert_eq!(s, 200, "{answer}");

    std::fs::remove_file(&filler).unwrap();
    app.advance_clock("1h").await;
    eventually(
        "the compaction once space is free",
        Duration::from_secs(60),
        || {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            async move { log.contains("compacted the store").then_some(()) }
        },
    )
    .await;
    let (s, answer) = app
        .get(&format!(
            "/api/requests/{}",
            answer["request_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200, "{answer}");
}
