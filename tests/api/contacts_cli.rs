//! The contacts CLI views against the real binary: `contacts list/show --json` checked field by
//! field against the API, and the data dir used (or refused when held) without a server.

use crate::contacts_csv::{hookflow, post_csv, HOSTILE};
use crate::helpers::*;
use serde_json::Value;
use std::process::Command;

#[tokio::test]
async fn contacts_list_and_show_as_json_are_the_apis_documents() {
    let app = spawn_app().await;
    let (status, _) = post_csv(&app, "text/csv", HOSTILE).await;
    assert_eq!(status, 200);

    let out = stdout_ok(&hookflow(
        &app,
        &["contacts", "list", "--json", "--tag", "vip"],
    ));
    let page: Value = serde_json::from_str(&out).unwrap();
    let api = app.get_ok("/api/contacts?tag=vip&limit=50").await;
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (cli, ann) = (&page["items"][0], &api["items"][0]);
    for field in [
        "id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "tags",
        "custom",
        "dnd",
        "timezone",
        "source",
        "sequences",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(cli[field], ann[field], "{field}");
    }
    assert_eq!(cli["email"], "a@x.com");

    let out = stdout_ok(&hookflow(
        &app,
        &["contacts", "list", "--json", "--limit", "2"],
    ));
    let page: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let out = stdout_ok(&hookflow(
        &app,
        &[
            "contacts", "list", "--json", "--limit", "2", "--cursor", cursor,
        ],
    ));
    let next: Value = serde_json::from_str(&out).unwrap();
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);

    let bob = app.contact_by_email("b@x.com").await;
    for key in ["B@X.com", "(415) 555-0132", bob["id"].as_str().unwrap()] {
        let out = stdout_ok(&hookflow(&app, &["contacts", "show", "--json", key]));
        let shown: Value = serde_json::from_str(&out).unwrap();
        for field in [
            "id",
            "first_name",
            "email",
            "phone",
            "tags",
            "custom",
            "dnd",
            "created_at",
            "updated_at",
            "timeline",
        ] {
            assert_eq!(shown[field], bob[field], "{field} via {key}");
        }
    }

    let table = stdout_ok(&hookflow(&app, &["contacts", "list", "--q", "bobby"]));
    let rows: Vec<&str> = table.lines().collect();
    assert!(
        rows[0].starts_with("ID") && rows[0].contains("EMAIL"),
        "{table}"
    );
    assert!(
        rows[1].contains("Bobby") && rows[1].contains("b@x.com") && rows[1].contains("a, b, c")
    );
    let text = stdout_ok(&hookflow(&app, &["contacts", "show", "b@x.com"]));
    assert!(
        text.contains("+14155550132")
            && text.contains("TIMELINE")
            && text.contains("first_name: \"Bob\" → \"Bobby\""),
        "{text}"
    );

    let out = hookflow(&app, &["contacts", "show", "nobody@x.com"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no contact matches `nobody@x.com`"));
}

#[tokio::test]
async fn without_a_server_the_cli_uses_the_data_dir_and_refuses_a_locked_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("in.csv");
    std::fs::write(&file, "Email,First Name,Tags\nann@x.com,Ann,vip\n").unwrap();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hookflow"))
            .args(args)
            .args([
                "--server",
                "http://127.0.0.1:9",
                "--data",
                data.to_str().unwrap(),
            ])
            .env_remove("HOOKFLOW_ADMIN_TOKEN")
            .output()
            .unwrap()
    };
    let out = cli(&["contacts", "import", file.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "created 1, updated 0, skipped 0\n"
    );
    let out = cli(&["contacts", "list", "--json"]);
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["items"][0]["email"], "ann@x.com");
    let out = cli(&["contacts", "export"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains(",Ann,,ann@x.com,,vip,false,,import,"),
        "{csv}"
    );

    // A server holds its data dir; a CLI pointed at another address cannot open it.
    let app = spawn_app().await;
    let out = Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args([
            "contacts",
            "list",
            "--server",
            "http://127.0.0.1:9",
            "--data",
        ])
        .arg(app.data.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data dir in use; pass --server"));
}
