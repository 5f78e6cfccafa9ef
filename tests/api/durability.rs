//! A request answered 200 is never lost, not even by SIGKILL mid-burst.

use crate::helpers::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn every_acknowledged_request_survives_a_sigkill_in_the_middle_of_a_burst() {
    let (mut app, _dir) = spawn_workflows(&[(
        "open.yaml",
        "name: Open\nmapping:\n  email: $.email\nsteps: []\n",
    )])
    .await;
    let url = Arc::new(app.url("open").to_string());
    let client = app.client.clone();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (url, client, acked) = (url.clone(), client.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..10_000 {
                let body = format!("[{{\"email\": \"w{worker}n{n}@example.com\"}}, {{\"email\": \"x{worker}n{n}@example.com\"}}]");
                let resp = client.post(url.as_str()).header("content-type", "application/json").body(body).send().await;
                let Ok(resp) = resp else { break };
                if resp.status() != 200 {
                    break;
                }
                let Ok(answer) = resp.json::<serde_json::Value>().await else { break };
                let runs = answer["items"].as_array().unwrap().iter().map(|i| i["run_id"].as_str().unwrap().to_string()).collect::<Vec<_>>().join(",");
                acked.lock().unwrap().push((answer["request_id"].as_str().unwrap().to_string(), runs));
            }
        }));
    }
    // Let the burst run, then kill the server while requests are in flight.
    eventually(
        "some acknowledged requests",
        Duration::from_secs(20),
        || {
            let n = acked.lock().unwrap().len();
            async move { (n >= 300).then_some(()) }
        },
    )
    .await;
    app.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let app = app.restart().await;
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/requests?workflow=open&limit=1000&cursor={c}"),
            None => "/api/requests?workflow=open&limit=1000".to_string(),
        };
        let page = app.get_ok(&path).await;
        for r in page["items"].as_array().unwrap() {
            let runs: Vec<_> = r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["run_id"].as_str().unwrap_or("").to_string())
                .collect();
            seen.insert((r["id"].as_str().unwrap().to_string(), runs.join(",")));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let lost: Vec<_> = acked.iter().filter(|a| !seen.contains(*a)).collect();
    assert!(acked.len() >= 300);
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged requests lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );
    // Each acknowledged item's queue entry survived too: its run exists (queued or run since).
    for (_, runs) in &acked {
        for run_id in runs.split(',') {
            let (status, run) = app.get(&format!("/api/runs/{run_id}")).await;
            assert_eq!(
                status, 200,
                "run {run_id} of an acknowledged request is missing"
            );
            assert!(run["status"].is_string());
        }
    }
}
