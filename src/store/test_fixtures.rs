//! Records the store's unit tests build again and again, written once: each test changes only
//! the fields it is about.

use super::outbox::{OutboxRecord, OutboxState};
use super::queue::QueueEntry;
use super::requests::{ItemStatus, RequestRecord};
use super::runs::RunRecord;

/// A plain text email `id` to jane@example.com from run `run1` for contact `c1`, in `state`,
/// made (and due) at 1,000 ms, never tried.
pub(crate) fn outbox_record(id: &str, state: OutboxState) -> OutboxRecord {
    OutboxRecord {
        id: id.to_string(),
        to: "jane@example.com".into(),
        cc: vec![],
        bcc: vec![],
        from: None,
        subject: "Hi".into(),
        text: Some("Hello".into()),
        html: None,
        state,
        attempts: 0,
        last_error: None,
        message_id: None,
        run_id: Some("run1".into()),
        contact_id: Some("c1".into()),
        unsubscribe_token: Some(format!("tok-{id}")),
        unsubscribe_url: None,
        created_at: 1_000,
        next_attempt_at: 1_000,
        sent_at: None,
        eml_path: None,
        skip_reason: None,
    }
}

/// A new (running) run `id` of `workflow` at version `v1`, for request `REQ`, created at
/// `created_at`.
pub(crate) fn started_run(id: &str, workflow: &str, created_at: String) -> RunRecord {
    let entry = QueueEntry {
        seq: 0,
        run_id: id.into(),
        request_id: "REQ".into(),
        index: 0,
        workflow: workflow.into(),
        version: "v1".into(),
        item: serde_json::json!({}),
        request: serde_json::json!({}),
        accepted_at: 0,
    };
    RunRecord::start(entry, created_at)
}

/// A request to `workflow` refused with 401, as the rejected log stores it.
pub(crate) fn rejected_request(id: &str, workflow: &str, received_at: String) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        workflow: workflow.into(),
        received_at,
        method: "POST".into(),
        remote_addr: None,
        headers: Vec::new(),
        query: String::new(),
        content_type: None,
        body: "{}".into(),
        body_size: 2,
        body_truncated: false,
        status: ItemStatus::Rejected,
        http_status: 401,
        reason: Some("unauthorized".into()),
        payload: serde_json::Value::Null,
        items: Vec::new(),
        replay_of: None,
        payload_is_body: false,
    }
}

/// A request to `workflow` accepted with 200, its payload `{}` and no items.
pub(crate) fn accepted_request(id: &str, workflow: &str, received_at: String) -> RequestRecord {
    RequestRecord {
        status: ItemStatus::Accepted,
        http_status: 200,
        reason: None,
        payload: serde_json::json!({}),
        ..rejected_request(id, workflow, received_at)
    }
}

/// Every logged request's id, newest first, read a page of `limit` at a time through the cursors.
pub(crate) fn request_ids(
    store: &super::Store,
    workflow: Option<&str>,
    status: Option<&str>,
    limit: usize,
) -> Vec<String> {
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = store
            .requests(workflow, status, cursor.as_deref(), limit)
            .unwrap();
        out.extend(page.items.into_iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}
