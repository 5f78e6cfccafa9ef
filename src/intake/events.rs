//! The live events intake publishes: a request was stored or refused, and the runs it queued.

use super::Answer;
use crate::events::{Event, ItemEvent, RequestEvent, RunEvent};
use crate::store::requests::RequestRecord;

/// A stored request, then one `queued` run event per accepted item.
pub fn stored(method: &str, answer: &Answer) -> Vec<Event> {
    let request = Event::Request(RequestEvent {
        request_id: answer.request_id.clone(),
        workflow: answer.workflow.clone(),
        method: method.to_string(),
        status: answer.status.as_str().to_string(),
        http_status: 200,
        reason: None,
        items: answer
            .items
            .iter()
            .map(|i| ItemEvent {
                index: i.index,
                status: i.status.as_str().to_string(),
                run_id: i.run_id.clone(),
            })
            .collect(),
    });
    let runs = answer.items.iter().filter_map(|i| {
        Some(Event::Run(RunEvent {
            run_id: i.run_id.clone()?,
            workflow: answer.workflow.clone(),
            request_id: answer.request_id.clone(),
            contact_id: None,
            status: "queued".into(),
            step: None,
        }))
    });
    std::iter::once(request).chain(runs).collect()
}

/// A refused request to a known hook, with its error code as the reason.
pub fn rejected(record: &RequestRecord, code: &str) -> Event {
    Event::Request(RequestEvent {
        request_id: record.id.clone(),
        workflow: record.workflow.clone(),
        method: record.method.clone(),
        status: "rejected".into(),
        http_status: record.http_status,
        reason: Some(code.to_string()),
        items: Vec::new(),
    })
}
