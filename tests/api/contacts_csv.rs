//! Contacts CSV, against the real binary: the import and export
//! routes, a round trip through `contacts export` → `reset` → `contacts import` and a hostile
//! file (the `contacts list/show` views: `contacts_cli`).

use crate::helpers::*;
use serde_json::{json, Value};
use std::io::Read;
use std::process::{Command, Output, Stdio};

/// Runs `hookflow ARGS --server` against `app`.
pub(crate) fn hookflow(app: &TestApp, args: &[&str]) -> Output {
    cli()
        .args(args)
        .args(["--server", &app.base])
        .output()
        .unwrap()
}

/// Posts a CSV body to the import route: status and JSON answer.
pub(crate) async fn post_csv(app: &TestApp, content_type: &str, body: &str) -> (u16, Value) {
    app.send(
        app.client
            .post(format!("{}/api/contacts/import", app.base))
            .header("content-type", content_type)
            .body(body.to_string()),
    )
    .await
}

/// Every contact without what a CSV does not carry (`updated_at`, sequences), oldest first.
async fn contacts_as_csv_sees_them(app: &TestApp) -> Vec<Value> {
    let mut all = app.contacts("").await;
    all.reverse();
    for c in &mut all {
        let c = c.as_object_mut().unwrap();
        c.remove("updated_at");
        c.remove("sequences");
    }
    all
}

/// A CSV with a BOM, odd headers and rows a careless export produces.
pub(crate) const HOSTILE: &str = include_str!("../data/hostile_contacts.csv");

#[tokio::test]
async fn a_hostile_csv_is_imported_row_by_row_and_each_skipped_row_is_reported_with_its_line() {
    let app = spawn_app().await;
    let (status, report) = post_csv(&app, "text/csv; charset=utf-8", HOSTILE).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 4, "{report}");
    assert_eq!(report["updated"], 2, "{report}");
    let skipped: Vec<(u64, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["line"].as_u64().unwrap(),
                n["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let lines: Vec<u64> = skipped.iter().map(|s| s.0).collect();
    assert_eq!(lines, [4, 5, 10, 12], "{report}");
    assert!(skipped[0].1.contains("no email or phone"));
    assert!(skipped[1].1.contains("invalid email \"bad-email\""));
    assert!(skipped[2].1.contains("invalid phone \"not a phone\""));
    assert!(skipped[3].1.contains("3 fields but the header has 8"));
    assert_eq!(report["warnings"][0]["line"], 9, "{report}");

    let ann = app.contact_by_email("a@x.com").await;
    assert_eq!(ann["last_name"], "O\"Neil");
    assert_eq!(ann["tags"], json!(["vip", "Booked", "new"]));
    assert_eq!(ann["dnd"], true);
    assert_eq!(
        ann["custom"],
        json!({"Plan": "gold", "Notes": "two\nlines"})
    );
    assert_eq!(ann["source"], "import");
    let actors: Vec<&str> = ann["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["import", "import"]);
    let bob = app.contact_by_email("b@x.com").await;
    assert_eq!(
        bob["first_name"], "Bobby",
        "line 8 matched Bob by his phone"
    );
    assert_eq!(bob["tags"], json!(["a", "b", "c"]));
    let cy = app.contact_by_email("c@x.com").await;
    assert_eq!(
        cy["phone"],
        Value::Null,
        "Bob's phone is not copied onto Cy"
    );
    let zoe = app.contact_by_email("e@x.com").await;
    assert_eq!(
        (zoe["first_name"].as_str(), zoe["tags"][0].as_str()),
        (Some("Zoë"), Some("日本"))
    );
    assert!(
        app.contacts("q=d@x.com").await.is_empty(),
        "a bad row changes nothing"
    );
    assert_eq!(app.contacts("").await.len(), 4);
}

#[tokio::test]
async fn a_malformed_or_mistyped_upload_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let unclosed = "Email,First Name\nok@x.com,Ok\nbad@x.com,\"Unclosed\nlate@x.com,Late\n";
    let (status, body) = post_csv(&app, "text/csv", unclosed).await;
    assert_eq!(status, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("line 3") && msg.contains("never closed"),
        "{msg}"
    );
    let (status, body) = post_csv(&app, "application/json", "Email\na@x.com\n").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, _) = post_csv(&app, "text/csv; charset=latin1", "Email\na@x.com\n").await;
    assert_eq!(status, 415);
    assert!(app.contacts("").await.is_empty());
}

#[tokio::test]
async fn a_chunked_upload_without_a_content_length_is_imported() {
    let app = spawn_app().await;
    let parts: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok("Email,First Name\nann@x.com,A"),
        Ok("nn\nbob@x.com,Bob\n"),
    ];
    let (status, report) = app
        .send(
            app.client
                .post(format!("{}/api/contacts/import", app.base))
                .header("content-type", "text/csv")
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    parts,
                ))),
        )
        .await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    assert_eq!(app.contact_by_email("ann@x.com").await["first_name"], "Ann");
}

#[tokio::test]
async fn an_export_streams_csv_narrowed_by_tag_and_refuses_parameters_it_does_not_know() {
    let app = spawn_app().await;
    let (status, _) = post_csv(
        &app,
        "text/csv",
        "Email,Tags,Plan\na@x.com,vip,gold\nb@x.com,,silver\n",
    )
    .await;
    assert_eq!(status, 200);
    let resp = app
        .client
        .get(format!("{}/api/contacts/export?tag=VIP", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Contact Id,First Name,Last Name,Email,Phone,Tags,DND,Timezone,Source,Created,Plan"
    );
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains(",a@x.com,,vip,false,,import,") && lines[1].ends_with(",gold"));
    let (status, body) = app.get("/api/contacts/export?limit=5").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn export_reset_and_import_through_the_cli_give_back_the_same_contacts() {
    let app = spawn_app().await;
    let (status, _) = post_csv(&app, "text/csv", HOSTILE).await;
    assert_eq!(status, 200);
    app.post_sample("optimantra-booking", "optimantra/booking.json")
        .await;
    let ann = app.contact_by_email("a@x.com").await;
    let patch = json!({"custom": {"Plan": "platinum", "Referrer": "Dr. Lee, \"Eastside\""}, "timezone": "Europe/Oslo"});
    let (status, _) = app
        .send(
            app.client
                .patch(format!(
                    "{}/api/contacts/{}",
                    app.base,
                    ann["id"].as_str().unwrap()
                ))
                .json(&patch),
        )
        .await;
    assert_eq!(status, 200);
    // The booking's run must be done before the snapshot, or it could change a contact after.
    let runs = app.runs("").await;
    for run in &runs {
        app.wait_run_done(run["id"].as_str().unwrap()).await;
    }
    let before = contacts_as_csv_sees_them(&app).await;
    assert_eq!(before.len(), 5, "{before:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    let file = file.to_str().unwrap();
    stdout_ok(&hookflow(&app, &["contacts", "export", file]));
    stdout_ok(&hookflow(&app, &["reset", "--yes"]));
    assert!(app.contacts("").await.is_empty());
    let out = stdout_ok(&hookflow(&app, &["contacts", "import", file]));
    assert_eq!(out, "created 5, updated 0, skipped 0\n");

    let after = contacts_as_csv_sees_them(&app).await;
    for (b, a) in before.iter().zip(&after) {
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
            "created_at",
        ] {
            assert_eq!(a[field], b[field], "{field} of {}", b["email"]);
        }
    }
    assert_eq!(before.len(), after.len());
}

#[tokio::test]
async fn the_cli_prints_each_skipped_row_with_its_line_and_reason() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(&file, HOSTILE).unwrap();
    let out = stdout_ok(&hookflow(
        &app,
        &["contacts", "import", file.to_str().unwrap()],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "created 4, updated 2, skipped 4");
    assert!(lines[1].starts_with("line 4: no email or phone"), "{out}");
    assert!(
        lines[4].starts_with("line 12: the row has 3 fields"),
        "{out}"
    );
    assert!(
        lines[5].starts_with("line 9: warning: phone +14155550132"),
        "{out}"
    );
}

#[tokio::test]
async fn an_export_to_a_reader_that_stops_early_ends_quietly_with_status_0() {
    let app = spawn_app().await;
    let mut csv = String::from("Email,Notes\n");
    for i in 0..3000 {
        csv.push_str(&format!("p{i}@x.com,{}\n", "x".repeat(100)));
    }
    let (status, report) = post_csv(&app, "text/csv", &csv).await;
    assert_eq!((status, report["created"].as_u64()), (200, Some(3000)));
    // ~330 KB: far more than a pipe holds, so the CLI is still writing when the reader leaves.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookflow"))
        .args(["contacts", "export", "--server", &app.base])
        .env_remove("HOOKFLOW_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 10];
    stdout.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"Contact Id");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
