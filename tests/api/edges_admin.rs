//! The admin API at its edges: a merge patch needs its content type, and a cursor the server
//! did not hand out is a bad request on every list.

use crate::helpers::*;
use serde_json::json;

const OPEN: &str = "name: Open hook\nsteps: []\n";
const CREATE: &str = "name: Create\nmapping: {email: $.email}\n\
                      steps:\n  - find_contact: {email: \"{{ email }}\", create: true}\n";

#[tokio::test]
async fn a_contact_is_patched_with_the_merge_patch_content_type() {
    let (app, _dir) = spawn_workflows(&[("create.yaml", CREATE)]).await;
    let answer = app
        .post_json("create", &json!({"email": "ann@example.com"}))
        .await;
    app.wait_runs_of(&answer).await;
    let id = app.contact_by_email("ann@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("{}/api/contacts/{id}", app.base);
    let patch = |ct: &'static str, body: &'static str| {
        app.client.patch(&url).header("content-type", ct).body(body)
    };
    let (s, body) = app
        .send(patch(
            "application/merge-patch+json",
            r#"{"first_name": "Ann"}"#,
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["first_name"], "Ann");
    let (s, _) = app
        .send(patch(
            "application/merge-patch+json; charset=utf-8",
            r#"{"last_name": "Lee"}"#,
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(app.contact(&id).await["last_name"], "Lee");
    let (s, body) = app
        .send(patch("text/plain", r#"{"first_name": "X"}"#))
        .await;
    assert_eq!(s, 415, "{body}");
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let (s, body) = app
        .send(patch("application/merge-patch+json", "{\"first_name\": "))
        .await;
    assert_eq!(s, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{body}"
    );
    assert_eq!(app.contact(&id).await["first_name"], "Ann");
}

#[tokio::test]
async fn a_cursor_the_server_did_not_hand_out_is_a_bad_request_on_every_list() {
    let (app, _dir) = spawn_workflows(&[("open.yaml", OPEN)]).await;
    for n in 0..3 {
        app.post_json("open", &json!({ "n": n })).await;
    }
    let lists = [
        "requests",
        "runs",
        "contacts",
        "outbox",
        "timers",
        "workflows",
        "sequences",
    ];
    for list in lists {
        for bad in ["garbage", "01J0000000000000000000000A", "zzzz"] {
            let (s, body) = app.get(&format!("/api/{list}?cursor={bad}")).await;
            assert_eq!(s, 400, "/api/{list}?cursor={bad} → {body}");
            assert_eq!(body["error"]["code"], "bad_request");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("next_cursor"),
                "{body}"
            );
        }
    }
    // A cursor that was handed out works; the same one altered, or used on another list, does not.
    let p1 = app.get_ok("/api/requests?limit=1").await;
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2 = app
        .get_ok(&format!("/api/requests?limit=1&cursor={cursor}"))
        .await;
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    let last = cursor.chars().last().unwrap();
    let altered = format!(
        "{}{}",
        &cursor[..cursor.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert_eq!(
        app.get(&format!("/api/requests?cursor={altered}")).await.0,
        400
    );
    assert_eq!(app.get(&format!("/api/runs?cursor={cursor}")).await.0, 400);
}
