use super::*;

fn wf(id: &str) -> Event {
    Event::Workflow(WorkflowEvent {
        workflow: id.into(),
        kind: "workflow".into(),
        status: "published".into(),
        change: "loaded".into(),
    })
}

fn bus() -> Arc<EventBus> {
    Arc::new(EventBus::new(Arc::new(|| 0)))
}

async fn ids(sub: &mut Subscription, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        match sub.next().await.unwrap() {
            Next::Event(p) => out.push(p.id.to_string()),
            Next::Lost { from, to } => out.push(format!("lost {from}-{to}")),
        }
    }
    out
}

#[tokio::test]
async fn a_reader_that_reconnects_gets_what_it_missed_then_live_events() {
    let bus = bus();
    for _ in 0..3 {
        bus.publish(wf("a"));
    }
    let mut sub = bus.subscribe(Some(1));
    bus.publish(wf("a"));
    assert_eq!(ids(&mut sub, 3).await, ["2", "3", "4"]);
}

#[tokio::test]
async fn an_id_the_bus_never_gave_means_from_now_on() {
    let bus = bus();
    bus.publish(wf("a"));
    let mut sub = bus.subscribe(Some(99));
    bus.publish(wf("a"));
    assert_eq!(ids(&mut sub, 1).await, ["2"]);
}

#[tokio::test]
async fn a_slow_reader_catches_up_from_the_ring_and_is_told_what_fell_out_of_it() {
    let bus = bus();
    let mut slow = bus.subscribe(None);
    for _ in 0..(CHANNEL + 10) {
        bus.publish(wf("a"));
    }
    // Lagged behind the channel, not the ring: every event, in order, none twice.
    let got = ids(&mut slow, CHANNEL + 10).await;
    let want: Vec<String> = (1..=(CHANNEL + 10)).map(|i| i.to_string()).collect();
    assert_eq!(got, want);

    // Asked for ids that fell out of the ring: told which, then the oldest kept.
    for _ in 0..RING {
        bus.publish(wf("a"));
    }
    let total = CHANNEL + 10 + RING;
    let oldest = total - RING + 1;
    let mut late = bus.subscribe(Some(0));
    assert_eq!(
        ids(&mut late, 2).await,
        [format!("lost 1-{}", oldest - 1), oldest.to_string()]
    );
}

#[test]
fn event_json_starts_with_type_and_at() {
    let json = wf("a").to_json("2026-12-01T14:00:00Z");
    assert!(
        json.starts_with(r#"{"type":"workflow","at":"2026-12-01T14:00:00Z","workflow":"a""#),
        "{json}"
    );
}

#[test]
fn event_json_is_the_variant_fields_after_type_and_at_for_every_kind() {
    use serde_json::json;
    let step = StepEvent {
        path: json!([4, "then", 0]),
        kind: "send_email".into(),
        status: "failed".into(),
        error: Some("smtp said \"no\"".into()),
    };
    let events = [
        Event::Request(RequestEvent {
            request_id: "q".into(),
            workflow: "w".into(),
            method: "POST".into(),
            status: "accepted".into(),
            http_status: 200,
            reason: None,
            items: vec![ItemEvent {
                index: 0,
                status: "accepted".into(),
                run_id: Some("r".into()),
            }],
        }),
        Event::Run(RunEvent {
            run_id: "r".into(),
            workflow: "w".into(),
            request_id: "q".into(),
            contact_id: None,
            status: "failed".into(),
            step: Some(step),
        }),
        Event::Email(EmailEvent {
            email_id: "e".into(),
            run_id: None,
            contact_id: Some("c".into()),
            workflow: None,
            state: "sent".into(),
            attempts: 2,
        }),
        Event::Timer(TimerEvent {
            timer_id: "t".into(),
            kind: "run_wait".into(),
            due_at: "2026-12-01T14:00:00Z".into(),
            state: "scheduled".into(),
            run_id: Some("r".into()),
            contact_id: None,
            sequence: None,
        }),
        wf("a\u{e9}\n"),
    ];
    for event in events {
        // What it was before: the tagged enum as a map, `at` after `type`.
        let mut expected = serde_json::Map::new();
        expected.insert("type".into(), json!(event.kind()));
        expected.insert("at".into(), json!("2026-12-01T14:00:00Z"));
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&event) else {
            panic!("{event:?}");
        };
        expected.extend(fields.into_iter().filter(|(k, _)| k != "type"));
        let expected = serde_json::Value::Object(expected).to_string();
        assert_eq!(event.to_json("2026-12-01T14:00:00Z"), expected);
    }
}

#[tokio::test]
async fn closing_the_bus_ends_every_stream() {
    let bus = bus();
    let mut sub = bus.subscribe(None);
    let waiting = tokio::spawn(async move { sub.next().await.is_none() });
    bus.close();
    assert!(waiting.await.unwrap());
}

fn run(id: &str, workflow: &str) -> Event {
    Event::Run(RunEvent {
        run_id: id.into(),
        workflow: workflow.into(),
        request_id: "q".into(),
        contact_id: None,
        status: "running".into(),
        step: None,
    })
}

fn email_of(run_id: &str) -> Event {
    Event::Email(EmailEvent {
        email_id: format!("e-{run_id}"),
        run_id: Some(run_id.into()),
        contact_id: None,
        workflow: None,
        state: "sent".into(),
        attempts: 1,
    })
}

fn newest(bus: &EventBus) -> Arc<Published> {
    bus.ring().kept.back().cloned().unwrap()
}

#[test]
fn an_email_of_a_recent_run_keeps_its_workflow_however_many_runs_came_before() {
    // The mailer follows the worker by thousands of runs under load: whenever the memory of
    // runs is full, the oldest run is forgotten, never the recent ones whose emails are due.
    let bus = bus();
    for i in 0..=RUN_WORKFLOWS {
        bus.publish(run(&format!("r{i}"), "booking"));
    }
    let recent = format!("r{}", RUN_WORKFLOWS - 1);
    bus.publish(email_of(&recent));
    assert_eq!(newest(&bus).workflow(), Some("booking"));
    // A run's later events do not make it newer than it is, nor count twice.
    bus.publish(run("r1", "booking"));
    bus.publish(run(&format!("r{}", RUN_WORKFLOWS + 1), "booking"));
    bus.publish(email_of("r1"));
    assert_eq!(
        newest(&bus).workflow(),
        None,
        "r1 was the oldest remembered"
    );
    bus.publish(email_of("r2"));
    assert_eq!(newest(&bus).workflow(), Some("booking"));
}
