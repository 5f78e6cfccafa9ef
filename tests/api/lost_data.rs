//! Lost data is never silent: a data dir whose sled `db` file was damaged (a bad sector, a bad
//! copy) is refused with one message naming the dir, what is missing and the way back, and
//! `--accept-data-loss` starts it anyway, loudly.

use crate::contacts_csv::post_csv;
use crate::helpers::*;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

const CONTACTS: &str = "Email,First Name\nann.lost@example.com,Ann\nbob.lost@example.com,Bob\n\
                        cyd.lost@example.com,Cyd\n";

/// A stopped server's data dir with 3 contacts and a few acknowledged requests.
async fn data_dir_with_history() -> tempfile::TempDir {
    let mut app = spawn_app().await;
    let (s, body) = post_csv(&app, "text/csv", CONTACTS).await;
    assert_eq!(s, 200, "{body}");
    for _ in 0..3 {
        app.post_sample("optimantra-booking", "optimantra/booking.json")
            .await;
    }
    app.stop();
    std::mem::replace(&mut app.data, tempfile::tempdir().unwrap())
}

/// A copy of `from` in a new temp dir.
fn copy_of(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to.path())
        .status()
        .unwrap();
    assert!(status.success());
    to
}

/// Writes `len` bytes of garbage at `offset` of the sled log file.
fn scribble(data: &Path, offset: u64, len: usize) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(data.join("sled").join("db"))
        .unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
    f.write_all(&garbage).unwrap();
}

/// `hookflow serve` on `data`, which must exit (refuse) within the deadline: status, stderr.
fn refused(data: &Path) -> (std::process::ExitStatus, String) {
    crate::start_up::serve_refused_on(data, &[], &[])
}

/// A way to damage a data dir.
type Damage = dyn Fn(&Path);

#[tokio::test]
async fn a_damaged_sled_log_is_refused_with_what_is_missing_unless_data_loss_is_accepted() {
    let history = data_dir_with_history().await;
    let control = std::fs::read_to_string(history.path().join("control.json")).unwrap();
    assert!(control.contains("\"acknowledged\": 3"), "{control}");

    // The case, other bad sectors, a cut file, a lost log: each either makes sled
    // refuse to open, or opens a store that holds less than was acknowledged.
    let damages: [(&str, &Damage); 4] = [
        ("4 KB of garbage at 4096", &|d| scribble(d, 4096, 4096)),
        ("4 KB of garbage at 0", &|d| scribble(d, 0, 4096)),
        ("the log cut to nothing", &|d| {
            std::fs::File::options()
                .write(true)
                .open(d.join("sled").join("db"))
                .unwrap()
                .set_len(0)
                .unwrap()
        }),
        ("sled's folder gone", &|d| {
            std::fs::remove_dir_all(d.join("sled")).unwrap()
        }),
    ];
    let mut behind = 0;
    for (what, damage) in damages {
        let data = copy_of(history.path());
        damage(data.path());
        let (status, err) = refused(data.path());
        assert!(!status.success(), "{what}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{what}: {err}");
        assert!(
            err.contains(&data.path().display().to_string()),
            "{what}: {err}"
        );
        assert!(
            err.contains("hookflow restore FILE --data NEW_DIR"),
            "{what}: {err}"
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
        if !err.contains("has lost data") {
            assert!(err.contains("cannot open the data dir"), "{what}: {err}");
            continue;
        }
        behind += 1;
        assert!(err.contains("3 acknowledged requests"), "{what}: {err}");
        assert!(err.contains("--accept-data-loss"), "{what}: {err}");

        // Started anyway: loudly, and the control file now follows the store.
        let app = spawn_on(
            Options {
                args: vec!["--accept-data-loss".into()],
                ..Options::default()
            },
            data,
        )
        .await;
        let (s, _) = app.get("/healthz").await;
        assert_eq!(s, 200);
        let log = server_log_with(app.data.path(), "STARTING WITH DATA LOSS").await;
        assert!(
            log.lines()
                .any(|l| l.contains("ERROR") && l.contains("STARTING WITH DATA LOSS")),
            "{what}: {log}"
        );
        let control = std::fs::read_to_string(app.data.path().join("control.json")).unwrap();
        assert!(
            !control.contains("\"acknowledged\": 3"),
            "{what}: {control}"
        );
    }
    assert!(
        behind >= 2,
        "sled refused every damage: the check was never reached"
    );
}

#[tokio::test]
async fn a_data_dir_whose_control_file_is_missing_is_an_upgrade_and_starts() {
    let history = data_dir_with_history().await;
    std::fs::remove_file(history.path().join("control.json")).unwrap();
    let app = spawn_on(Options::default(), history).await;
    let requests = app.get_ok("/api/requests").await;
    assert_eq!(requests["items"].as_array().unwrap().len(), 3, "{requests}");
    let control = std::fs::read_to_string(app.data.path().join("control.json")).unwrap();
    assert!(control.contains("\"acknowledged\": 3"), "{control}");
}

#[tokio::test]
async fn a_restored_data_dir_has_a_control_file_that_matches_its_store() {
    let history = data_dir_with_history().await;
    let file = history.path().join("all.backup");
    let backup = Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["backup", "--server", "http://127.0.0.1:9", "--data"])
        .arg(history.path())
        .arg(&file)
        .env_remove("HOOKFLOW_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(backup.status.success(), "{backup:?}");
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .arg("restore")
        .arg(&file)
        .arg("--data")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let control = std::fs::read_to_string(target.join("control.json")).unwrap();
    assert!(control.contains("\"acknowledged\": 3"), "{control}");
    let (status, err) = {
        // Damage the restored copy: its own control file must catch it.
        std::fs::remove_dir_all(target.join("sled")).unwrap();
        refused(&target)
    };
    assert!(!status.success());
    assert!(err.contains("has lost data"), "{err}");
}
