//! Mail that leaves for real: the real binary against real TLS SMTP servers (aiosmtpd with a
//! TLS context and a login, `tests/smtp/sink.py`) whose certificates come from a private CA made
//! in the test (rcgen). Also: `--mail-ca` checked at start-up, the start-up mail line, and the
//! outbox's times on the manual clock.

use crate::helpers::*;
use crate::smtp::certs::TestCa;
use crate::smtp::{free_port, Sink};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const BOOK: &str = r#"name: Book
mapping:
  email: $.email
steps:
  - find_contact: {email: "{{ email }}", create: true}
  - send_email: {subject: "See you soon", body: "Your visit is booked.", transactional: true}
"#;

const PASSWORD: &str = "s3cret-Pw";

/// A private CA, a TLS sink using a certificate from it, and the sink's port.
struct Relay {
    ca: TestCa,
    sink: Sink,
    port: u16,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// Starts a sink in `mode` (`starttls` or `smtps`) with a login `clinic:PASSWORD` and a
/// certificate made by `cert(ca)` (its cert and key paths).
fn relay(
    mode: &str,
    cert: impl Fn(&TestCa) -> crate::smtp::certs::ServerCert,
    extra: &[&str],
) -> Relay {
    let pki = tempfile::tempdir().unwrap();
    let ca = TestCa::new(pki.path());
    let server = cert(&ca);
    let sink_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cert, key) = (server.cert.to_str().unwrap(), server.key.to_str().unwrap());
    let auth = format!("clinic:{PASSWORD}");
    let mut args = vec!["--tls", mode, "--cert", cert, "--key", key, "--auth", &auth];
    args.extend_from_slice(extra);
    let sink = Sink::start(port, sink_dir.path(), &args);
    Relay {
        ca,
        sink,
        port,
        _dirs: (pki, sink_dir),
    }
}

async fn app_with(args: &[String]) -> (TestApp, tempfile::TempDir) {
    let dir = workflows_dir(&[("book.yaml", BOOK)]);
    let opts = Options {
        workflows: dir.path().to_path_buf(),
        args: args.to_vec(),
        ..Options::default()
    };
    (spawn_with(opts).await, dir)
}

fn mail_args(url: String, ca: Option<&Path>) -> Vec<String> {
    let mut args = vec!["--mail".to_string(), url];
    if let Some(ca) = ca {
        args.extend(["--mail-ca".to_string(), ca.display().to_string()]);
    }
    args
}

/// Books a visit and waits until its email is `sent` or `failed`; returns the outbox record.
async fn book_and_settle(app: &TestApp) -> Value {
    let body = json!({"email": "jane@example.com"}).to_string();
    let (status, answer) = app.post_hook("book", "application/json", body).await;
    assert_eq!(status, 200, "{answer}");
    email_settled(app).await
}

/// Waits until the (only) email is `sent` or `failed`; returns its outbox record.
async fn email_settled(app: &TestApp) -> Value {
    eventually(
        "the email sent or failed",
        Duration::from_secs(40),
        || async {
            let items = app.get_ok("/api/outbox").await["items"].clone();
            let first = items.get(0).cloned()?;
            (first["state"] == "sent" || first["state"] == "failed").then_some(first)
        },
    )
    .await
}

fn error_of(email: &Value) -> String {
    email["last_error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn starttls_with_a_password_delivers_through_a_relay_with_a_private_ca() {
    let relay = relay("starttls", |ca| ca.server("relay", &["127.0.0.1"]), &[]);
    let url = format!("smtp://clinic:{PASSWORD}@127.0.0.1:{}", relay.port);
    let (app, _dir) = app_with(&mail_args(url, Some(&relay.ca.ca_pem))).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "sent", "{email}");
    assert_eq!(relay.sink.messages().len(), 1);
    let logins = relay.sink.auth_attempts();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0]["tls"], true, "the password went over TLS");
    let line = format!(
        "mail: smtp://clinic@127.0.0.1:{}, STARTTLS required, extra CA from {}",
        relay.port,
        relay.ca.ca_pem.display()
    );
    assert!(app.banner.contains(&line), "{:?}", app.banner);
}

#[tokio::test]
async fn smtps_with_a_password_delivers_over_tls_from_the_first_byte() {
    let relay = relay("smtps", |ca| ca.server("relay", &["127.0.0.1"]), &[]);
    let url = format!("smtps://clinic:{PASSWORD}@127.0.0.1:{}", relay.port);
    let (app, _dir) = app_with(&mail_args(url, Some(&relay.ca.ca_pem))).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "sent", "{email}");
    assert_eq!(relay.sink.messages().len(), 1);
    assert_eq!(relay.sink.auth_attempts()[0]["tls"], true);
    assert!(
        app.banner
            .iter()
            .any(|l| l.starts_with("mail: smtps://clinic@127.0.0.1:")
                && l.contains("TLS from the first byte")),
        "{:?}",
        app.banner
    );
}

#[tokio::test]
async fn a_wrong_password_is_failed_at_once_with_the_servers_535_answer() {
    let relay = relay("starttls", |ca| ca.server("relay", &["127.0.0.1"]), &[]);
    let url = format!("smtp://clinic:wrong-password@127.0.0.1:{}", relay.port);
    let (app, _dir) = app_with(&mail_args(url, Some(&relay.ca.ca_pem))).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "failed", "{email}");
    assert_eq!(email["attempts"], 1, "a refused login is not retried");
    let error = error_of(&email);
    assert!(error.contains("refused the login: 535"), "{error}");
    assert!(
        error.contains("Authentication credentials invalid"),
        "{error}"
    );
    assert!(error.contains("password"), "says what to check: {error}");
    assert!(!error.contains("wrong-password"), "{error}");
    assert!(relay.sink.messages().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_name_is_never_delivered_and_says_why() {
    let relay = relay(
        "starttls",
        |ca| ca.server("other", &["relay.other.test"]),
        &[],
    );
    let url = format!("smtp://clinic:{PASSWORD}@127.0.0.1:{}", relay.port);
    let (app, _dir) = app_with(&mail_args(url, Some(&relay.ca.ca_pem))).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "failed", "{email}");
    let error = error_of(&email);
    assert!(error.contains("is for another name"), "{error}");
    assert!(error.contains("relay.other.test"), "{error}");
    assert!(relay.sink.messages().is_empty());
    assert!(
        relay.sink.auth_attempts().is_empty(),
        "no password to a server whose certificate is wrong"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_never_delivered_and_says_it_expired() {
    let relay = relay("smtps", |ca| ca.expired_server("old", &["127.0.0.1"]), &[]);
    let url = format!("smtps://clinic:{PASSWORD}@127.0.0.1:{}", relay.port);
    let (app, _dir) = app_with(&mail_args(url, Some(&relay.ca.ca_pem))).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "failed", "{email}");
    let error = error_of(&email);
    assert!(error.contains("certificate has expired"), "{error}");
    assert!(relay.sink.messages().is_empty());
    assert!(relay.sink.auth_attempts().is_empty());
}

#[tokio::test]
async fn a_relay_with_a_private_ca_is_refused_without_mail_ca_and_the_error_names_it() {
    let relay = relay("starttls", |ca| ca.server("relay", &["127.0.0.1"]), &[]);
    let url = format!("smtp://clinic:{PASSWORD}@127.0.0.1:{}", relay.port);
    let (app, _dir) = app_with(&mail_args(url, None)).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "failed", "{email}");
    assert_eq!(
        email["attempts"], 1,
        "an untrusted certificate is not retried"
    );
    let error = error_of(&email);
    assert!(error.contains("unknown certificate authority"), "{error}");
    assert!(error.contains("--mail-ca"), "says how to fix it: {error}");
    assert!(relay.sink.auth_attempts().is_empty());
}

#[tokio::test]
async fn a_server_without_starttls_never_receives_the_password() {
    let sink_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let auth = format!("clinic:{PASSWORD}");
    let sink = Sink::start(port, sink_dir.path(), &["--auth", &auth, "--auth-plain-ok"]);
    let url = format!("smtp://clinic:{PASSWORD}@127.0.0.1:{port}");
    let (app, _dir) = app_with(&mail_args(url, None)).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "failed", "{email}");
    let error = error_of(&email);
    assert!(
        error.contains("does not offer STARTTLS") && error.contains("never sent unencrypted"),
        "{error}"
    );
    assert_eq!(
        sink.auth_attempts(),
        Vec::<Value>::new(),
        "the password crossed the network in clear"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn without_credentials_a_plain_local_catcher_still_receives_mail() {
    let sink_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, sink_dir.path(), &[]);
    let (app, _dir) = app_with(&mail_args(format!("smtp://127.0.0.1:{port}"), None)).await;
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "sent", "{email}");
    assert_eq!(sink.messages().len(), 1);
    let line = format!("mail: smtp://127.0.0.1:{port}, STARTTLS when offered, plain otherwise");
    assert!(app.banner.contains(&line), "{:?}", app.banner);
}

#[tokio::test]
async fn the_start_up_line_never_shows_the_password_even_percent_encoded() {
    // The password is `p@ss:w%rd!x/` and the user `me@clinic.example`.
    let url = "smtp://me%40clinic.example:p%40ss%3Aw%25rd%21x%2F@127.0.0.1:2525";
    let (app, _dir) = app_with(&mail_args(url.into(), None)).await;
    let line = "mail: smtp://me@clinic.example@127.0.0.1:2525, STARTTLS required";
    assert!(app.banner.contains(&line.to_string()), "{:?}", app.banner);
    let printed = format!("{}\n{}", app.banner.join("\n"), server_log(app.data.path()));
    for secret in ["p@ss", "p%40ss", "w%rd", "w%25rd", "rd!x", "rd%21x"] {
        assert!(!printed.contains(secret), "{secret:?} in {printed}");
    }
}

/// Runs `serve` with `args`, which must refuse to start; returns its stderr.
fn serve_refuses(args: &[&str]) -> String {
    let (status, stderr) = crate::start_up::serve_refused(args, &[]);
    assert!(!status.success(), "serve {args:?} exited 0");
    stderr
}

#[test]
fn a_bad_mail_ca_file_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("notes.txt");
    std::fs::write(&empty, "this is not a certificate\n").unwrap();
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let smtp = "smtp://clinic:pw@127.0.0.1:2525";
    for (file, why) in [
        (&missing, "cannot read it"),
        (&empty, "holds no PEM certificate"),
        (&broken, "is not usable"),
    ] {
        let path = file.to_str().unwrap();
        let err = serve_refuses(&["--mail", smtp, "--mail-ca", path]);
        assert!(err.contains(&format!("--mail-ca {path}: ")), "{err}");
        assert!(err.contains(why), "{path}: {err}");
        assert!(
            err.contains("BEGIN CERTIFICATE"),
            "says what is expected: {err}"
        );
    }
    let ca = TestCa::new(dir.path());
    let ca_pem = ca.ca_pem.to_str().unwrap();
    let err = serve_refuses(&["--mail", "outbox", "--mail-ca", ca_pem]);
    assert!(err.contains("--mail is outbox"), "{err}");
}

fn parse_time(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}

#[tokio::test]
async fn under_the_manual_clock_an_emails_times_all_come_from_that_clock() {
    let args = vec!["--clock".to_string(), "manual".to_string()];
    let (app, _dir) = app_with(&args).await;
    let (status, answer) = app
        .send(
            app.client
                .post(format!("{}/api/clock/advance", app.base))
                .json(&json!({"by": "30d"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let manual_now = parse_time(&app.get_ok("/api/clock").await["now"]);
    assert!(manual_now > OffsetDateTime::now_utc() + time::Duration::days(29));
    let email = book_and_settle(&app).await;
    assert_eq!(email["state"], "sent", "{email}");
    let created = parse_time(&email["created_at"]);
    let sent = parse_time(&email["sent_at"]);
    assert!(
        sent >= created,
        "sent_at {sent} before created_at {created}"
    );
    // The manual clock stands still until advanced, so every time is exactly its `now`.
    for (field, at) in [("created_at", created), ("sent_at", sent)] {
        assert_eq!(at, manual_now, "{field} is not on the manual clock");
    }
    assert_eq!(parse_time(&email["next_attempt_at"]), manual_now);
}

#[tokio::test]
async fn under_the_manual_clock_a_retry_is_due_on_that_clock_and_goes_out_after_an_advance() {
    let sink_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, sink_dir.path(), &["--fail-first", "1"]);
    let mut args = mail_args(format!("smtp://127.0.0.1:{port}"), None);
    args.extend(["--clock".to_string(), "manual".to_string()]);
    let (app, _dir) = app_with(&args).await;
    let body = json!({"email": "jane@example.com"}).to_string();
    let (status, _) = app.post_hook("book", "application/json", body).await;
    assert_eq!(status, 200);
    let queued = eventually(
        "a failed first attempt",
        Duration::from_secs(30),
        || async {
            let email = app.get_ok("/api/outbox").await["items"][0].clone();
            (email["state"] == "queued" && email["attempts"] == 1).then_some(email)
        },
    )
    .await;
    let created = parse_time(&queued["created_at"]);
    assert_eq!(
        parse_time(&queued["next_attempt_at"]),
        created + time::Duration::seconds(1),
        "the backoff is counted on the manual clock"
    );
    let (status, answer) = app
        .send(
            app.client
                .post(format!("{}/api/clock/advance", app.base))
                .json(&json!({"by": "1s"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let email = email_settled(&app).await;
    assert_eq!(email["state"], "sent", "{email}");
    assert_eq!(
        parse_time(&email["sent_at"]),
        created + time::Duration::seconds(1)
    );
    assert_eq!(sink.messages().len(), 1);
}
